#!/usr/bin/env bash
# The lakehouse destination on S3: CSV files land in Iceberg tables under s3://bucket/prefix of
# an S3-compatible server (s3rver from npm, started here on a loopback port), with the catalog in
# SQLite and then in PostgreSQL. Every check reads
# the table back along the specification's read path over plain HTTP, with readers nilus did
# not write (sqlite3 for the catalog, python3-avro, DuckDB), and lists the bucket with curl.
source "$(dirname "$0")/pg_lib.sh"
DUCKDB=$(bash "$ROOT/tests/tools/duckdb/ensure.sh")
S3RVER=$(bash "$ROOT/tests/tools/s3rver/ensure.sh")
# PostgreSQL holds the shared catalog of the last part; the test's end stops both servers.
pg_start

S3_PORT=$(free_port)
export S3_ENDPOINT=http://127.0.0.1:$S3_PORT S3_MIRROR=$WORK/mirror
# s3rver knows one access key, S3RVER, and accepts any well-formed Signature Version 4 made
# with it (it does not check the signature: nilus's signing is checked against the published
# examples in src/nilus/storage/sigv4_test.cc). Its continuation tokens are DES-encrypted, which
# OpenSSL 3 keeps in its legacy provider.
node --openssl-legacy-provider "$S3RVER" -d "$WORK/s3" -a 127.0.0.1 -p "$S3_PORT" --silent --allow-mismatched-signatures \
  --configure-bucket lake >"$WORK/s3rver.log" 2>&1 &
for _ in $(seq 100); do
  curl -sf "$S3_ENDPOINT/lake?list-type=2" >/dev/null && break
  sleep 0.1
done
curl -sf "$S3_ENDPOINT/lake?list-type=2" >/dev/null || { cat "$WORK/s3rver.log" >&2; fail "s3rver did not start"; }

export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=secret-never-logged-7f3a AWS_ENDPOINT=$S3_ENDPOINT
CATALOG=$NILUS_HOME/lakehouse/lake/wh/catalog.db
duck() { node "$DUCKDB" "$1" || echo "DuckDB failed: $1 ($RANDOM)"; }
table() { /usr/bin/python3 -W ignore "$ROOT/tests/tools/iceberg_read.py" "$CATALOG" raw "$1"; }
field() { table "$1" | /usr/bin/python3 -c "import json, sys; v = json.load(sys.stdin)$2; print(json.dumps(v) if not isinstance(v, (str, int)) else v)"; }
files() { field "$1" "['files']" | tr '"' "'"; }
# keys PREFIX: the bucket's keys under PREFIX, listed by curl.
keys() { curl -sf "$S3_ENDPOINT/lake?list-type=2&prefix=$1" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g' || true; }
ingest() { expect_ok ingest --source-uri "csv://$1" --source-table "$(basename "$1" .csv)" --dest-uri s3://lake/wh "${@:2}"; }

# The example of docs/connectors/lakehouse.md's S3 section, as written.
mkdir -p examples/data
cp "$ROOT/examples/data/orders.csv" examples/data/
example=$(awk '/^```sh s3/ { on = 1; next } /^```/ { on = 0 } on' "$ROOT/docs/connectors/lakehouse.md" | sed 's/\\$//' | tr '\n' ' ')
[ -n "$example" ] || fail "docs/connectors/lakehouse.md has no S3 example"
eval "${example//nilus /expect_ok }"
[ "$(field orders "['manifest_rows']")" = 6 ] || fail "the doc's example did not load six orders"
doc_sums="SELECT count(*), sum(order_id), count(ship_date), sum(amount)"
[ "$(duck "$doc_sums FROM read_parquet($(files orders))")" = \
  "$(duck "$doc_sums FROM read_csv('examples/data/orders.csv')")" ] || fail "the doc's example rows differ"
CHECKS=$((CHECKS + 2))

# 100,000 orders: the table's files are in the bucket, the metadata refers to them there.
gen_orders orders.csv 1 100000
ingest orders.csv --dest-table raw.big
expect_err_lacks "$AWS_SECRET_ACCESS_KEY"
[ "$(field big "['format_version']")" = 2 ] || fail "not format version 2"
field big "['files']" | grep -q "$S3_MIRROR/lake/wh/raw/big/data/" || fail "the data files are not under s3://lake/wh/raw/big"
[ -n "$(keys wh/raw/big/metadata/version-hint.text)" ] || fail "no version hint in the bucket"
[ -z "$(keys wh/raw/big/pending/)" ] || fail "a committed load left its pending marker: $(keys wh/raw/big/pending/)"
csv_sums="SELECT count(*), sum(id), count(customer), round(sum(amount), 2)"
[ "$(duck "$csv_sums FROM read_parquet($(files big))")" = "$(duck "$csv_sums FROM read_csv('orders.csv')")" ] ||
  fail "the table's rows differ from the CSV file"
CHECKS=$((CHECKS + 5))

# Append in a second snapshot (the manifest list read back from the bucket), then replace.
gen_orders more.csv 100001 20000
ingest more.csv --dest-table raw.big
[ "$(field big "['snapshots']")" = 2 ] || fail "no second snapshot"
[ "$(duck "SELECT count(*), count(DISTINCT id) FROM read_parquet($(files big))")" = "120000|120000" ] ||
  fail "the appended snapshot's rows are wrong"
ingest more.csv --dest-table raw.big --incremental-strategy replace
[ "$(field big "['operation']")" = overwrite ] || fail "replace did not overwrite"
[ "$(duck "SELECT count(*), min(id) FROM read_parquet($(files big))")" = "20000|100001" ] || fail "replace kept old rows"
CHECKS=$((CHECKS + 3))

# An incremental pipeline: its state commits with its snapshot, in the catalog.
ingest orders.csv --dest-table raw.inc --incremental-key id --loader-file-size 40000
ingest orders.csv --dest-table raw.inc --incremental-key id
[ "$(field inc "['snapshots']")" = 1 ] || fail "the second, empty incremental load made a snapshot"
[ "$(duck "SELECT count(*), count(DISTINCT filename) FROM read_parquet($(files inc), filename = true)")" = "100000|3" ] ||
  fail "loader-file-size did not cut the files on S3"
CHECKS=$((CHECKS + 2))

# Partitioned and sorted on S3: each partition's file is spooled while the load writes all of
# them, and uploaded whole; the rows are there, one file per partition, each file in order.
printf 'source:\n  address: csv://orders.csv\n  options: {source-table: orders}\nsink:\n  address: s3://lake/wh\n  options:\n    dest-table: raw.parts\n    incremental-strategy: append\n    partition-by: [{column: id, type: bucket, bucket-count: 8}]\n    cluster-by: [customer]\n' >parts.yaml
expect_ok run parts.yaml
[ "$(duck "$csv_sums, count(DISTINCT filename) FROM read_parquet($(files parts), filename = true)")" = \
  "$(duck "$csv_sums, 8 FROM read_csv('orders.csv')")" ] || fail "the partitioned table's rows on S3 differ from the CSV file"
[ "$(duck "SELECT count(*) FILTER (WHERE a <> b) FROM (SELECT
  row_number() OVER (PARTITION BY filename ORDER BY file_row_number) a,
  row_number() OVER (PARTITION BY filename ORDER BY customer NULLS FIRST, file_row_number) b
  FROM read_parquet($(files parts), filename = true, file_row_number = true))")" = 0 ] || fail "a file on S3 is not sorted"
CHECKS=$((CHECKS + 2))

# A depot of the platform's form resolves to the bucket.
printf 'lake:\n  TYPE: S3\n  DESTINATION_BUCKET: s3://lake/wh\n' >depots.yaml
NILUS_DEPOTS=$WORK/depots.yaml expect_ok ingest --source-uri csv://more.csv --source-table more \
  --dest-uri dataos://lake --dest-table raw.depot
[ "$(duck "SELECT count(*) FROM read_parquet($(files depot))")" = 20000 ] || fail "the depot's table has the wrong rows"
printf 'lake:\n  TYPE: S3\n  DESTINATION_BUCKET: s3://lake/wh\n  SECRET_KEY: x\n' >depots.yaml
NILUS_DEPOTS=$WORK/depots.yaml expect_exit 2 ingest --source-uri csv://more.csv --source-table more \
  --dest-uri dataos://lake --dest-table raw.depot
expect_err_contains "unknown field SECRET_KEY"
CHECKS=$((CHECKS + 1))

# Parquet files as a source, from the bucket, read by byte ranges: a file another writer made
# (uploaded with curl's own Signature Version 4 into a folder a glob matches), and the data files
# nilus wrote for a table.
duck "SET TimeZone = 'UTC'; COPY (SELECT i AS id, 'c' || (i % 97) AS customer, (i * 0.01)::DECIMAL(12,2) AS amount,
  TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL 1 SECOND AS ts FROM range(300000) t(i))
  TO 'up.parquet' (FORMAT parquet, ROW_GROUP_SIZE 100000)" >/dev/null
upload() {
  curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "S3RVER:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$1" "$S3_ENDPOINT/lake/$2" >/dev/null || fail "cannot upload $1"
}
upload up.parquet in/2024/up.parquet
expect_ok ingest --source-uri "s3://lake/in/*/*.parquet" --dest-uri "sqlite:///$WORK/from_s3.db" --dest-table raw.up
expect_err_lacks "$AWS_SECRET_ACCESS_KEY"
[ "$(sqlite3 from_s3.db "SELECT count(*), sum(id), count(DISTINCT customer), sum(CAST(replace(amount, '.', '') AS INT)), substr(max(ts), 1, 19) FROM raw__up")" = \
  "$(duck "SET TimeZone = 'UTC'; SELECT count(*), sum(id), count(DISTINCT customer), sum((amount * 100)::BIGINT), strftime(max(ts), '%Y-%m-%d %H:%M:%S') FROM 'up.parquet'")" ] ||
  fail "the Parquet file read from S3 differs: $(sqlite3 from_s3.db "SELECT count(*), sum(id) FROM raw__up")"
one=$(files big | tr -d "[]' " | cut -d, -f1)
expect_ok ingest --source-uri s3://lake --source-table "${one#"$S3_MIRROR/lake/"}" --dest-uri "sqlite:///$WORK/from_s3.db" \
  --dest-table raw.big
[ "$(sqlite3 from_s3.db "SELECT count(*), count(DISTINCT id), sum(id) FROM raw__big")" = \
  "$(duck "SELECT count(*), count(DISTINCT id), sum(id) FROM '$one'")" ] ||
  fail "the table's data file read from S3 differs: $(sqlite3 from_s3.db "SELECT count(*), count(DISTINCT id), sum(id) FROM raw__big")"
expect_exit 2 ingest --source-uri "s3://lake/wh/*.csv" --dest-uri "sqlite:///$WORK/from_s3.db" --dest-table raw.x
expect_err_contains "no object matches s3://lake/wh/*.csv"
CHECKS=$((CHECKS + 2))

# A glob whose objects fill more than one page of ListObjectsV2 (1,000 keys; the rest come with
# its continuation token): 1,001 objects, every one loaded once.
mkdir -p many
for i in $(seq 1 1001); do printf 'n\n%d\n' "$i" >"many/f$(printf %04d "$i").csv"; done
curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "S3RVER:$AWS_SECRET_ACCESS_KEY" \
  -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "many/f[0001-1001].csv" "$S3_ENDPOINT/lake/many/" >/dev/null ||
  fail "cannot upload the 1,001 objects"
[ "$(curl -sf "$S3_ENDPOINT/lake?list-type=2&prefix=many/" | grep -o '<IsTruncated>true' || true)" = "<IsTruncated>true" ] ||
  fail "the server does not page a listing of 1,001 keys"
expect_ok ingest --source-uri "s3://lake/many/*.csv" --dest-uri "sqlite:///$WORK/many.db" --dest-table raw.many
[ "$(sqlite3 many.db "SELECT count(*), count(DISTINCT n), sum(n) FROM raw__many")" = "1001|1001|501501" ] ||
  fail "the 1,001 objects: $(sqlite3 many.db "SELECT count(*), count(DISTINCT n), sum(n) FROM raw__many")"
CHECKS=$((CHECKS + 2))

# CSV (plain and gzip) and JSON Lines objects: each copied once into the run's spool folder and
# read as a local file; the state names the objects, so a new one is picked up next run.
gen_orders part1.csv 1 30000
gen_orders part2.csv 30001 20000
gzip -k part2.csv
upload part1.csv csv/a/part1.csv
upload part2.csv.gz csv/b/part2.csv.gz
expect_ok ingest --source-uri "s3://lake/csv/*/*" --dest-uri "sqlite:///$WORK/from_s3.db" --dest-table raw.csv \
  --date-detection false
expect_err_lacks "$AWS_SECRET_ACCESS_KEY"
[ "$(sqlite3 from_s3.db "SELECT count(*), count(DISTINCT id), sum(id), count(note) FROM raw__csv")" = "50000|50000|1250025000|50000" ] ||
  fail "the CSV objects' rows: $(sqlite3 from_s3.db "SELECT count(*), sum(id) FROM raw__csv")"
[ "$(sqlite3 from_s3.db "SELECT type FROM pragma_table_info('raw__csv') WHERE name = 'created_at'")" = TEXT ] ||
  fail "date-detection false was not honoured for S3 files"
gen_orders part3.csv 50001 10
upload part3.csv csv/a/part3.csv
expect_ok ingest --source-uri "s3://lake/csv/*/*" --dest-uri "sqlite:///$WORK/from_s3.db" --dest-table raw.csv \
  --date-detection false
[ "$(sqlite3 from_s3.db "SELECT count(*), max(id) FROM raw__csv")" = "50010|50010" ] || fail "the new CSV object was not picked up alone"
printf '{"id": 1, "tags": {"a": 1}}\n{"id": 2, "tags": {"a": 2}}\n' >docs.jsonl
upload docs.jsonl json/docs.jsonl
expect_ok ingest --source-uri "s3://lake/json/docs.jsonl" --dest-uri "sqlite:///$WORK/from_s3.db" --dest-table raw.docs \
  --max-table-nesting 1
[ "$(sqlite3 from_s3.db "SELECT group_concat(id || ':' || tags__a) FROM raw__docs")" = "1:1,2:2" ] || fail "the JSONL object's rows"
expect_exit 2 ingest --source-uri s3://lake/wh --source-table raw.big --dest-uri "sqlite:///$WORK/from_s3.db" \
  --dest-table raw.x --date-detection false
expect_err_contains "date-detection is for files of a bucket"
CHECKS=$((CHECKS + 5))

# Bad input: clear errors, exit 2, no secret in them.
expect_exit 2 ingest --source-uri csv://more.csv --source-table more --dest-uri s3://nosuch/wh --dest-table raw.x
expect_err_contains "the bucket 'nosuch' does not exist"
expect_err_lacks "$AWS_SECRET_ACCESS_KEY"
AWS_ACCESS_KEY_ID=AKIANOSUCHKEY expect_exit 2 ingest --source-uri csv://more.csv --source-table more \
  --dest-uri s3://lake/wh --dest-table raw.x
expect_err_contains "S3 refused the request (HTTP 403 InvalidAccessKeyId"
expect_err_lacks "$AWS_SECRET_ACCESS_KEY"
AWS_SECRET_ACCESS_KEY= expect_exit 2 ingest --source-uri csv://more.csv --source-table more --dest-uri s3://lake/wh \
  --dest-table raw.x
expect_err_contains "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
expect_exit 2 ingest --source-uri csv://more.csv --source-table more --dest-uri lakehouse://local --dest-table raw.x \
  --aws-region eu-west-1
expect_err_contains "aws_region"

# A run killed while it uploads leaves the table as it was; the next run takes its objects away
# and loads every row once.
gen_orders huge.csv 200001 2000000
before=$(field big "['snapshots']")
"$NILUS_BIN" ingest --source-uri csv://huge.csv --source-table huge --dest-uri s3://lake/wh --dest-table raw.big \
  --loader-file-size 100000 >"$WORK/out" 2>"$WORK/err" &
pid=$!
until [ -n "$(keys wh/raw/big/pending/)" ] && [ "$(keys wh/raw/big/data/ | grep -c "$(keys wh/raw/big/pending/ | sed 's,.*/,,')" || true)" -ge 2 ]; do
  kill -0 "$pid" 2>/dev/null || { cat "$WORK/err" >&2; fail "the big load ended before it could be killed"; }
  sleep 0.05
done
killed=$(keys wh/raw/big/pending/ | sed 's,.*/,,')
kill -KILL "$pid"
wait "$pid" || true
[ "$(field big "['snapshots']")" = "$before" ] || fail "the killed load changed the table"
[ "$(duck "SELECT count(*) FROM read_parquet($(files big))")" = 20000 ] || fail "the killed load is visible"
ingest huge.csv --dest-table raw.big
expect_err_contains "that did not commit"
[ -z "$(keys wh/raw/big/ | grep -F "$killed")" ] || fail "objects of the killed load $killed were left"
[ "$(duck "SELECT count(*), count(DISTINCT id) FROM read_parquet($(files big))")" = "2020000|2020000" ] ||
  fail "the rerun did not load every row once: $(duck "SELECT count(*), count(DISTINCT id) FROM read_parquet($(files big))")"
if ls "${TMPDIR:-/tmp}" | grep -q "^nilus-spool-$pid-"; then fail "the spool folder of the killed run is left"; fi
CHECKS=$((CHECKS + 4))

# A catalog in PostgreSQL (NILUS_LAKEHOUSE_CATALOG) shares one S3 warehouse between machines: two
# NILUS_HOMEs merge into one table in turn; the second continues from the first's state.
sql "CREATE DATABASE catalog"
shared() {
  NILUS_LAKEHOUSE_CATALOG=$PG_URI/catalog NILUS_HOME=$WORK/$1 expect_ok ingest --source-uri "csv://$2" \
    --source-table "$(basename "$2" .csv)" --dest-uri s3://lake/shared --dest-table raw.orders \
    --incremental-strategy merge --primary-key id
  expect_err_lacks "app-secret-pw"
}
shared machine1 orders.csv
gen_orders more.csv 90001 20000
shared machine2 more.csv
[ "$(sql catalog "SELECT count(*) FROM iceberg_tables WHERE table_namespace = 'raw' AND table_name = 'orders'")" = 1 ] ||
  fail "the table is not in the PostgreSQL catalog"
[ "$(sql catalog "SELECT state::jsonb->'source'->>'files' FROM raw._nilus_state")" = '["orders.csv", "more.csv"]' ] ||
  fail "the second machine did not continue the first's state: $(sql catalog "SELECT state FROM raw._nilus_state")"
from=$(/usr/bin/python3 -W ignore "$ROOT/tests/tools/iceberg_read.py" "$PG_URI/catalog" raw orders |
  /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)['scan'])")
[ "$(duck "SELECT count(*), count(DISTINCT id), sum(id), count(*) FILTER (WHERE customer LIKE '%') FROM ($from)")" = \
  "110000|110000|6050055000|110000" ] || fail "the shared table's rows: $(duck "SELECT count(*), count(DISTINCT id), sum(id) FROM ($from)")"
# A third merge on the first machine brings keys of both loads again: their deletes reach 20% of
# the table's rows, and the load compacts the table on S3 in its commit.
gen_orders again.csv 80001 20000
shared machine1 again.csv
expect_err_contains "raw.orders: compacted: 2 data files"
from=$(/usr/bin/python3 -W ignore "$ROOT/tests/tools/iceberg_read.py" "$PG_URI/catalog" raw orders |
  /usr/bin/python3 -c "import json, sys; t = json.load(sys.stdin); print(t['scan'] if t['delete_files'] == 0 else 'deletes left')")
[ "$(duck "SELECT count(*), count(DISTINCT id), sum(id) FROM ($from)")" = "110000|110000|6050055000" ] ||
  fail "the compacted table's rows: $(duck "SELECT count(*), count(DISTINCT id), sum(id) FROM ($from)")"
# Two machines start at once on a new PostgreSQL catalog: they create its tables in turn, the
# second waits for the first's load of the pipeline and continues from its state.
sql "CREATE DATABASE catalog2"
race() {
  NILUS_LAKEHOUSE_CATALOG=$PG_URI/catalog2 NILUS_HOME=$WORK/$1 "$NILUS_BIN" ingest --source-uri "csv://$2" \
    --source-table "$(basename "$2" .csv)" --dest-uri s3://lake/race --dest-table raw.orders >"$WORK/$1.out" 2>"$WORK/$1.err"
}
race machine3 orders.csv &
first=$!
race machine4 more.csv &
second=$!
wait "$first" || { cat "$WORK/machine3.err" >&2; fail "the first of two machines starting at once failed"; }
wait "$second" || { cat "$WORK/machine4.err" >&2; fail "the second of two machines starting at once failed"; }
from=$(/usr/bin/python3 -W ignore "$ROOT/tests/tools/iceberg_read.py" "$PG_URI/catalog2" raw orders |
  /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)['scan'])")
[ "$(duck "SELECT count(*), sum(id) FROM ($from)")" = "120000|$(duck "SELECT sum(id) FROM (SELECT id FROM read_csv('orders.csv') UNION ALL SELECT id FROM read_csv('more.csv'))")" ] ||
  fail "two machines starting at once: $(duck "SELECT count(*), sum(id) FROM ($from)")"
NILUS_LAKEHOUSE_CATALOG=mysql://x expect_exit 2 ingest --source-uri csv://more.csv --source-table more \
  --dest-uri s3://lake/shared --dest-table raw.x
expect_err_contains "NILUS_LAKEHOUSE_CATALOG must be a postgresql:// address"
CHECKS=$((CHECKS + 7))

done_ok
