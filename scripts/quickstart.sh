#!/usr/bin/env bash
# Builds Nilus and runs a real pipeline on the embedded default: the CSV and JSONL files in
# examples/data are loaded into a SQLite database, with no server involved.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh release

out=build/quickstart
rm -rf "$out" && mkdir -p "$out"
export NILUS_HOME="$PWD/$out/home"

echo
echo "== nilus run examples/shop-workflow.yaml"
build/nilus run examples/shop-workflow.yaml

echo
echo "== what landed in $out/shop.db (read back with sqlite3)"
sqlite3 -header -column "$out/shop.db" \
  "SELECT order_id, customer, amount, currency, paid, ordered_at FROM raw__orders ORDER BY order_id;" \
  ".print" \
  "SELECT id, name, vip, address, tags FROM raw__customers ORDER BY id;" \
  ".print" \
  "SELECT table_name, strategy, rows, load_id FROM _nilus_loads ORDER BY finished_at;"
