#!/usr/bin/env bash
# What the Normalize stage costs, beside the CSV benchmark, in one run on the same orders:
#   - CSV -> SQLite: sqlite3 `.import` (the reference every ratio is against), nilus, and nilus
#     with three masked columns (email: hash, customer: partial:2, amount: round:10);
#   - JSONL -> SQLite, the orders as nested documents (a customer object, an items array, a tags
#     array): nilus with max-table-nesting 0 (nested values as json) and 2 (child tables), and
#     sqlite3 doing the same by hand (`.import` of the lines, then json_extract / json_each into
#     typed tables) for comparison.
# Each nilus line also shows the share of the load's time that Normalize took (nilus logs it).
#
#   bench/normalize_to_sqlite.sh [ROWS ...]     (default: 1000000)
source "$(dirname "$0")/lib.sh"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000)

# gen_orders_jsonl FILE ROWS: the orders as nested documents; 2 items and 2 tags each.
gen_orders_jsonl() {
  awk -v n="$2" 'BEGIN {
    for (i = 1; i <= n; i++)
      printf "{\"id\":%d,\"customer\":{\"name\":\"customer %d\",\"email\":\"user%d@example.com\",\"tier\":\"%s\"},\"amount\":%d.%02d,\"paid\":%s,\"created_at\":\"2024-%02d-%02dT%02d:%02d:%02dZ\",\"items\":[{\"sku\":\"s%d\",\"qty\":%d,\"price\":%d.5},{\"sku\":\"t%d\",\"qty\":1,\"price\":2.25}],\"tags\":[\"a\",\"b%d\"]}\n",
        i, i % 100003, i, (i % 3 ? "gold" : "basic"), i % 100000, i % 100, (i % 3 ? "true" : "false"),
        i % 12 + 1, i % 28 + 1, i % 24, i % 60, (i * 7) % 60, i % 977, i % 9 + 1, i % 50, i % 31, i % 7;
  }' >"$1"
}

# flatten_sql JSONL: the same flattening done by SQLite itself, as a sqlite3 script: the lines
# imported as text, then typed tables.
flatten_sql() {
  cat <<SQL
CREATE TABLE raw(line TEXT);
.mode ascii
.separator "\037" "\n"
.import $1 raw
CREATE TABLE orders AS SELECT rowid AS id_, json_extract(line, '\$.id') AS id,
  json_extract(line, '\$.customer.name') AS customer__name, json_extract(line, '\$.customer.email') AS customer__email,
  json_extract(line, '\$.customer.tier') AS customer__tier, json_extract(line, '\$.amount') AS amount,
  json_extract(line, '\$.paid') AS paid, json_extract(line, '\$.created_at') AS created_at FROM raw;
CREATE TABLE orders__items AS SELECT raw.rowid AS parent, j.key AS idx, json_extract(j.value, '\$.sku') AS sku,
  json_extract(j.value, '\$.qty') AS qty, json_extract(j.value, '\$.price') AS price FROM raw, json_each(raw.line, '\$.items') j;
CREATE TABLE orders__tags AS SELECT raw.rowid AS parent, j.key AS idx, j.value AS value FROM raw, json_each(raw.line, '\$.tags') j;
SQL
}

clean_nilus() { rm -rf "$work"/nilus.db* "$work/home"; }
clean_ref() { rm -f "$work/ref.db"; }

# nilus_run NAME ARGS...: measures nilus ARGS; NORM is the share Normalize took.
nilus_run() {
  local name=$1
  shift
  BEFORE_EACH=clean_nilus NILUS_HOME=$work/home measure "$name" "$NILUS" "$@"
  NORM=$(grep -o 'normalize took .*' "$work/err.$name" | sed 's/.*(\(.*\))/\1/')
}

report_header
for n in "${sizes[@]}"; do
  csv=$work/orders.csv
  jsonl=$work/orders.jsonl
  gen_orders_csv "$csv" "$n"
  gen_orders_jsonl "$jsonl" "$n"
  csv_mb=$(megabytes "$csv")
  json_mb=$(megabytes "$jsonl")

  BEFORE_EACH=clean_ref measure sqlite3 sqlite3 "$work/ref.db" -cmd ".mode csv" ".import $csv orders"
  ref=$SECS
  report "$n" "csv: sqlite3 .import" "$csv_mb" "$ref"
  csv_args=(ingest --source-uri "file://$csv" --dest-uri "sqlite:///$work/nilus.db" --dest-table raw.orders)
  nilus_run csv "${csv_args[@]}"
  report "$n" "csv: nilus" "$csv_mb" "$ref" "normalize $NORM"
  nilus_run csv_masked "${csv_args[@]}" --mask "email:hash,customer:partial:2,amount:round:10"
  report "$n" "csv: nilus, 3 masked columns" "$csv_mb" "$ref" "normalize $NORM"
  [ "$(sqlite3 "$work/nilus.db" "SELECT count(*) FROM raw__orders WHERE email LIKE '%@%'")" = 0 ] ||
    { echo "unmasked emails in the destination" >&2; exit 1; }

  flatten_sql "$jsonl" >"$work/flatten.sql"
  BEFORE_EACH=clean_ref measure sqlite3_json sqlite3 "$work/ref.db" ".read $work/flatten.sql"
  report "$n" "jsonl: sqlite3 json_each tables" "$json_mb" "$ref"
  for nesting in 0 2; do
    cat >"$work/jsonl.yaml" <<YAML
source:
  address: jsonl://$jsonl
  options: {max-table-nesting: $nesting}
sink:
  address: sqlite:///$work/nilus.db
  options: {dest-table: raw.orders, incremental-strategy: append}
YAML
    nilus_run "jsonl$nesting" run "$work/jsonl.yaml"
    report "$n" "jsonl: nilus, max-table-nesting $nesting" "$json_mb" "$ref" "normalize $NORM"
    got=$(sqlite3 "$work/nilus.db" "SELECT count(*) FROM raw__orders")
    [ "$got" = "$n" ] || { echo "nilus loaded $got rows, expected $n" >&2; exit 1; }
  done
  items=$(sqlite3 "$work/nilus.db" "SELECT count(*) FROM raw__orders__items")
  [ "$items" = $((2 * n)) ] || { echo "nilus loaded $items items, expected $((2 * n))" >&2; exit 1; }
  rm -f "$csv" "$jsonl" "$work"/*.db*
done
