#!/usr/bin/env bash
# Installs DuckDB for Node (npm @duckdb/node-api) beside query.mjs when it is missing. Prints the
# path of query.mjs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/../npm_install.sh" "$here"
echo "$here/query.mjs"
