# Parquet files as a source: files DuckDB writes (every codec, v1 and v2 pages, several row
# groups, a column added in a later file) land in SQLite and in the lakehouse with their values
# and types; a glob loads each file once; yield-limit resumes inside a file; nested columns and
# damaged files are clear errors. DuckDB reads the same files as the reference.
source "$(dirname "$0")/lib.sh"
DUCKDB=$(bash "$ROOT/tests/tools/duckdb/ensure.sh")
duck() { node "$DUCKDB" "$1" || echo "DuckDB failed: $1 ($RANDOM)"; }

# part N FIRST COUNT OPTIONS [EXTRA]: DuckDB writes rows FIRST.. of generated orders to in/part-N.parquet.
part() {
  duck "SET TimeZone = 'UTC'; COPY (SELECT i AS id, 'customer ' || (i % 997) AS customer,
      (i % 100000 * 0.01)::DECIMAL(12,2) AS amount, CASE WHEN i % 7 = 0 THEN NULL ELSE i % 7 END AS qty,
      i % 2 = 0 AS paid, TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL 1 SECOND AS created_at,
      DATE '2024-01-01' + (i % 365)::INTEGER AS day, i / 3 AS ratio, ('b' || i)::BLOB AS raw ${5:-}
    FROM range($2, $2 + $3) t(i)) TO 'in/part-$1.parquet' (FORMAT parquet, $4)" >/dev/null
}
mkdir in
part 1 0 150000 "COMPRESSION zstd, PARQUET_VERSION V2, ROW_GROUP_SIZE 40000"
part 2 150000 50000 "COMPRESSION snappy"
dst="sqlite:///$WORK/dst.db"
glob() { expect_ok ingest --source-uri "file://$WORK/in/*.parquet" --dest-uri "$dst" --dest-table raw.orders "$@"; }

glob
expect_query dst.db "SELECT group_concat(name || ' ' || type, ', ') FROM pragma_table_info('raw__orders')" \
  "id BIGINT, customer TEXT, amount DECIMAL_TEXT(12,2), qty BIGINT, paid BOOLEAN, created_at TIMESTAMPTZ, day DATE, ratio DOUBLE, raw BLOB, _nilus_load_id TEXT"
sums="count(*), count(DISTINCT id), sum(id), count(qty), sum(qty), sum(paid::INT), min(day), max(day), round(sum(ratio), 2)"
expect_query dst.db "SELECT count(*), count(DISTINCT id), sum(id), count(qty), sum(qty), sum(paid), min(day), max(day), round(sum(ratio), 2), substr(min(created_at), 1, 19), substr(max(created_at), 1, 19) FROM raw__orders" \
  "$(duck "SET TimeZone = 'UTC'; SELECT $sums, strftime(min(created_at), '%Y-%m-%d %H:%M:%S'), strftime(max(created_at), '%Y-%m-%d %H:%M:%S') FROM read_parquet('in/*.parquet')")"
# Decimals, blobs and timestamps row by row, as DuckDB prints them.
expect_output "amount, raw and created_at" \
  "$(duck "SET TimeZone = 'UTC'; SELECT id, amount::VARCHAR, raw::VARCHAR, strftime(created_at, '%Y-%m-%d %H:%M:%S') FROM read_parquet('in/*.parquet') WHERE id % 9973 = 1 ORDER BY id")" \
  q dst.db "SELECT id, amount, CAST(raw AS TEXT), substr(created_at, 1, 19) FROM raw__orders WHERE id % 9973 = 1 ORDER BY id"

# A new file with a new column is picked up; the old ones are not read again.
part 3 200000 1000 "COMPRESSION gzip" ", 'web' AS channel"
glob
expect_query dst.db "SELECT count(*), count(channel), max(id) FROM raw__orders" "201000|1000|200999"
glob
expect_query dst.db "SELECT group_concat(rows) FROM (SELECT rows FROM _nilus_loads ORDER BY finished_at)" "200000,1000,0"

# yield-limit stops inside a file; the next runs go on from the row after the last loaded.
for _ in 1 2 3 4 5; do
  expect_ok ingest --source-uri "parquet://$WORK/in/part-1.parquet" --dest-uri "$dst" --dest-table raw.limited \
    --page-size 25000 --yield-limit 2
done
expect_query dst.db "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM raw__limited" "150000|150000|0|149999"
expect_query dst.db "SELECT group_concat(rows) FROM (SELECT rows FROM _nilus_loads WHERE table_name = 'raw.limited' ORDER BY finished_at)" \
  "50000,50000,50000,0,0"

# columns and sql-exclude-columns choose columns; a misspelt one is an error.
expect_ok ingest --source-uri "file://$WORK/in/part-2.parquet" --dest-uri "$dst" --dest-table raw.some \
  --sql-exclude-columns raw,ratio
expect_query dst.db "SELECT group_concat(name, ',') FROM pragma_table_info('raw__some')" \
  "id,customer,amount,qty,paid,created_at,day,_nilus_load_id"
expect_exit 2 ingest --source-uri "file://$WORK/in/part-2.parquet" --dest-uri "$dst" --dest-table raw.some2 \
  --sql-exclude-columns rwa
expect_err_contains "rwa"

# A nested column: refused by name, with the way out; leaving it out loads the rest.
duck "COPY (SELECT i AS id, [i, i + 1] AS pair, {'a': i} AS obj FROM range(10) t(i)) TO 'nested.parquet' (FORMAT parquet)" >/dev/null
expect_exit 2 ingest --source-uri "file://$WORK/nested.parquet" --dest-uri "$dst" --dest-table raw.nested
expect_err_contains "column 'pair' cannot be read: it is a nested column"
expect_err_contains "sql-exclude-columns"
expect_ok ingest --source-uri "file://$WORK/nested.parquet" --dest-uri "$dst" --dest-table raw.nested \
  --sql-exclude-columns pair,obj
expect_query dst.db "SELECT count(*), sum(id) FROM raw__nested" "10|45"

# A damaged file: exit 2, named; the destination is as it was.
head -c -1000 in/part-1.parquet >damaged.parquet
expect_exit 2 ingest --source-uri "file://$WORK/damaged.parquet" --dest-uri "$dst" --dest-table raw.orders
expect_err_contains "damaged.parquet: not a readable Parquet file"
cp in/part-1.parquet damaged.parquet
dd if=/dev/zero of=damaged.parquet bs=1 seek=5000 count=3000 conv=notrunc status=none
expect_exit 2 ingest --source-uri "file://$WORK/damaged.parquet" --dest-uri "$dst" --dest-table raw.orders
expect_err_contains "damaged.parquet: not a readable Parquet file"
expect_query dst.db "SELECT count(*) FROM raw__orders" "201000"
printf 'id\n1\n' >notparquet.parquet
expect_exit 2 ingest --source-uri "file://$WORK/notparquet.parquet" --dest-uri "$dst" --dest-table raw.bad
expect_err_contains "not a readable Parquet file"

# Into the lakehouse and out through DuckDB: the same rows and types.
expect_ok ingest --source-uri "file://$WORK/in/part-[12].parquet" --dest-uri "lakehouse://$WORK/wh" \
  --dest-table raw.orders
expect_output "the lakehouse table" \
  "$(duck "SET TimeZone = 'UTC'; SELECT $sums, sum(amount), max(raw) FROM read_parquet('in/part-[12].parquet')")" \
  duck "SET TimeZone = 'UTC'; SELECT $sums, sum(amount), max(raw) FROM read_parquet('$WORK/wh/raw/orders/data/*.parquet')"
expect_output "the lakehouse table's types" \
  "$(duck "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('in/part-1.parquet'))")" \
  duck "SELECT column_name, column_type FROM (DESCRIBE SELECT * EXCLUDE (_nilus_load_id) FROM read_parquet('$WORK/wh/raw/orders/data/*.parquet'))"
# The example of docs/connectors/files.md, as written.
mkdir exports
cp in/part-1.parquet in/part-2.parquet exports/
example=$(awk '/^```sh$/ { on = 1; next } /^```/ { on = 0 } on' "$ROOT/docs/connectors/files.md" | sed 's/\\$//' | tr '\n' ' ')
[ -n "$example" ] || fail "docs/connectors/files.md has no example"
eval "expect_ok ${example#nilus }"
expect_query out.db "SELECT count(*), count(DISTINCT id) FROM raw__orders" "200000|200000"
done_ok
