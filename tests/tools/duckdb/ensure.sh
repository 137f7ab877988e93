#!/usr/bin/env bash
# Installs DuckDB for Node (npm @duckdb/node-api) beside query.mjs when it is missing, and
# Node.js itself from Debian when the machine has none. Prints the path of query.mjs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ ! -d "$here/node_modules/@duckdb/node-api" ]; then
  (cd "$here" && npm install --no-audit --no-fund --silent >&2)
fi
echo "$here/query.mjs"
