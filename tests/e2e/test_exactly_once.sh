# Exactly once into SQLite when runs overlap, stop early or meet late rows: two runs of one
# pipeline started together, reads cut by sql-limit and yield-limit, rows that arrive later with
# the cursor's last value, a merge after an append, and a stop in the middle of a long merge.
source "$(dirname "$0")/lib.sh"

# --- Two runs of one pipeline at once, 20 times: every row once. -------------------------------
sqlite3 src.db "CREATE TABLE events (id INTEGER PRIMARY KEY, at TEXT, v TEXT)"
src="sqlite:///$WORK/src.db"
dst="sqlite:///$WORK/dst.db"
both=(ingest --source-uri "$src" --source-table events --dest-uri "$dst" --dest-table raw.events --incremental-key id)
for round in $(seq 20); do
  sqlite3 src.db "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
    INSERT INTO events (at, v) SELECT '2024-01-01 00:00:00', 'round $round row ' || i FROM n"
  "$NILUS_BIN" "${both[@]}" >"$WORK/out1" 2>"$WORK/err1" &
  first=$!
  "$NILUS_BIN" "${both[@]}" >"$WORK/out2" 2>"$WORK/err2" &
  second=$!
  wait "$first" || { cat "$WORK/err1" >&2; fail "round $round: the first run failed"; }
  wait "$second" || { cat "$WORK/err2" >&2; fail "round $round: the second run failed"; }
done
expect_query dst.db "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM raw__events" "10000|10000|1|10000"
expect_same src.db "SELECT id, at, v FROM events ORDER BY id" dst.db "SELECT id, at, v FROM raw__events ORDER BY id"
expect_query dst.db "SELECT sum(rows) FROM _nilus_loads WHERE table_name = 'raw.events'" "10000"

# --- Rows that share the cursor's last value and arrive later are loaded, once. ----------------
sqlite3 src.db "CREATE TABLE ticks (n INTEGER, at TEXT);
  INSERT INTO ticks VALUES (1, '2024-05-01 10:00:00'), (2, '2024-05-01 10:00:00'), (3, '2024-05-01 11:00:00')"
ticks=(ingest --source-uri "$src" --source-table ticks --dest-uri "$dst" --dest-table raw.ticks --incremental-key at)
expect_ok "${ticks[@]}"
sqlite3 src.db "INSERT INTO ticks VALUES (4, '2024-05-01 11:00:00'), (5, '2024-05-01 11:00:00'), (6, '2024-05-01 09:00:00')"
expect_ok "${ticks[@]}"
[ "$(rows_loaded)" = 2 ] || fail "late rows with the last value: $(cat "$WORK/out")"
# an identical row arriving later is a row of its own
sqlite3 src.db "INSERT INTO ticks VALUES (5, '2024-05-01 11:00:00')"
expect_ok "${ticks[@]}"
expect_ok "${ticks[@]}"
expect_query dst.db "SELECT group_concat(n) FROM (SELECT n FROM raw__ticks ORDER BY n)" "1,2,3,4,5,5"

# --- Reads cut by a limit continue exactly where they stopped. ----------------------------------
sqlite3 src.db "CREATE TABLE orders (id INTEGER PRIMARY KEY, at TEXT, amount REAL);
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
  INSERT INTO orders SELECT i, printf('2024-02-%02d %02d:00:00', 1 + (i / 7) % 28, (i / 7) % 24), i * 0.5 FROM n"
for limit in "--sql-limit 37" "--yield-limit 2 --page-size 23"; do
  table="limited_$(echo "$limit" | tr -dc 'a-z' | cut -c1-5)"
  # shellcheck disable=SC2086
  runs=$(drain ingest --source-uri "$src" --source-table orders --dest-uri "$dst" --dest-table "raw.$table" \
    --incremental-key at $limit)
  [ "$runs" -gt 10 ] || fail "$limit: the read was not cut ($runs runs)"
  expect_same src.db "SELECT id, at, amount FROM orders ORDER BY id" dst.db "SELECT id, at, amount FROM raw__$table ORDER BY id"
  expect_query dst.db "SELECT count(*) - count(DISTINCT id) FROM raw__$table" "0"
done

# A file read in part continues at the line where the last run stopped (CSV and JSONL, gzip).
mkdir in
gen_orders in/a.csv 1 700
awk -F, 'NR > 1 { printf "{\"id\": %d, \"note\": \"n%d\", \"items\": [{\"sku\": \"s%d\"}]}\n", $1, $1, $1 }' in/a.csv |
  gzip >in/b.jsonl.gz
runs=$(drain ingest --source-uri "file://$WORK/in/*" --dest-uri "$dst" --dest-table raw.files --yield-limit 3 \
  --page-size 50 --max-table-nesting 1)
[ "$runs" -gt 5 ] || fail "yield-limit on files: the read was not cut ($runs runs)"
expect_query dst.db "SELECT count(*), count(DISTINCT id), sum(id) FROM raw__files" "1400|700|$((2 * 700 * 701 / 2))"
expect_query dst.db "SELECT count(*), count(DISTINCT sku) FROM raw__files__items" "700|700"
import_csv ref.db a in/a.csv
expect_same ref.db "SELECT CAST(id AS INT), customer, note FROM a ORDER BY 1" \
  dst.db "SELECT id, customer, note FROM raw__files WHERE customer IS NOT NULL ORDER BY 1"

# --- A merge after an append replaces the child rows of the rows it replaces. ------------------
cat >docs1.jsonl <<'JSON'
{"id": 1, "items": [{"sku": "a"}, {"sku": "b"}]}
{"id": 2, "items": [{"sku": "c"}]}
JSON
cat >docs2.jsonl <<'JSON'
{"id": 1, "items": [{"sku": "a2"}]}
JSON
expect_ok ingest --source-uri "file://$WORK/docs1.jsonl" --dest-uri "$dst" --dest-table raw.docs --max-table-nesting 1
expect_ok ingest --source-uri "file://$WORK/docs2.jsonl" --dest-uri "$dst" --dest-table raw.docs --max-table-nesting 1 \
  --incremental-strategy merge --primary-key id
expect_query dst.db "SELECT d.id, i.sku FROM raw__docs d JOIN raw__docs__items i ON i._nilus_root_id = d._nilus_id ORDER BY 1, 2" \
  "1|a2
2|c"
expect_query dst.db "SELECT count(*) FROM raw__docs__items" "2"
expect_query dst.db "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = 'raw__docs__items__nilus_root_id'" "1"

# --- A stop in the middle of a long merge statement takes effect at once. ----------------------
gen_orders big.csv 1 1500000
# Each run merges a new file with the same 1.5M keys: every row of the table is replaced.
cp big.csv big2.csv
cp big.csv big3.csv
merge() {
  echo ingest --source-uri "file://$WORK/$1" --dest-uri "sqlite:///$WORK/merge.db" --dest-table raw.big \
    --incremental-strategy merge --primary-key id --log-level debug
}
# shellcheck disable=SC2046
expect_ok $(merge big.csv)
snapshot() { q merge.db "SELECT count(*), sum(qty), max(_nilus_load_id) FROM raw__big; SELECT load_id FROM _nilus_state"; }
before=$(snapshot)
started=$(date +%s.%N)
# shellcheck disable=SC2046
expect_ok $(merge big2.csv)
full=$(echo "$(date +%s.%N) - $started" | bc)
[ "$(snapshot)" != "$before" ] || fail "the second merge changed nothing"
before=$(snapshot)
# shellcheck disable=SC2046
stop_in_merge "$full" $(merge big3.csv)
[ "$(snapshot)" = "$before" ] || fail "the stopped merge changed the destination"
CHECKS=$((CHECKS + 2))
done_ok
