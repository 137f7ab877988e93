#!/usr/bin/env bash
# The lakehouse destination on local disk: CSV files land in Iceberg tables (format version 2,
# Parquet data files, an Iceberg SQL catalog in SQLite). Every check reads the table along the
# specification's read path with readers nilus did not write (sqlite3, python3-avro, DuckDB).
source "$(dirname "$0")/lib.sh"
DUCKDB=$(bash "$ROOT/tests/tools/duckdb/ensure.sh")
# duck SQL: DuckDB's rows; a failed query fails the test (two failures must not compare equal).
duck() { node "$DUCKDB" "$1" || echo "DuckDB failed: $1 ($RANDOM)"; }
table() { /usr/bin/python3 -W ignore "$ROOT/tests/tools/iceberg_read.py" "${CATALOG:-$WORK/wh/catalog.db}" raw "$1"; }
field() { table "$1" | /usr/bin/python3 -c "import json, sys; v = json.load(sys.stdin)$2; print(json.dumps(v) if not isinstance(v, (str, int)) else v)"; }
# The current snapshot's data files, as a DuckDB list.
files() { field "$1" "['files']" | tr '"' "'"; }

# The example of docs/connectors/lakehouse.md, as written.
mkdir -p examples/data
cp "$ROOT/examples/data/orders.csv" examples/data/
example=$(awk '/^```sh$/ { on = 1; next } /^```/ { on = 0 } on' "$ROOT/docs/connectors/lakehouse.md" | sed 's/\\$//' | tr '\n' ' ')
eval "expect_ok ${example#nilus }"
[ "$(CATALOG=lake/catalog.db field orders "['manifest_rows']")" = 6 ] || fail "the doc's example did not load six orders"
doc_sums="SELECT count(*), sum(order_id), count(ship_date), sum(amount)"
[ "$(duck "$doc_sums FROM read_parquet($(CATALOG=lake/catalog.db files orders))")" = \
  "$(duck "$doc_sums FROM read_csv('examples/data/orders.csv')")" ] || fail "the doc's example rows differ"
CHECKS=$((CHECKS + 2))
# Its example of the lakehouse as a source reads the table back.
example=$(awk '/^```sh source$/ { on = 1; next } /^```/ { on = 0 } on' "$ROOT/docs/connectors/lakehouse.md" | sed 's/\\$//' | tr '\n' ' ')
[ -n "$example" ] || fail "docs/connectors/lakehouse.md has no source example"
eval "expect_ok ${example#nilus }"
expect_query orders.db "SELECT count(*), sum(order_id) FROM orders" \
  "$(duck "SELECT count(*), sum(order_id) FROM read_csv('examples/data/orders.csv')")"

# 100,000 orders, every tenth without a customer.
awk 'BEGIN { print "id,customer,amount,placed"; for (i = 1; i <= 100000; i++)
  printf "%d,%s,%d.%02d,2024-%02d-%02dT%02d:00:00\n", i, (i % 10 ? "c" i % 97 : ""), i % 1000, i % 100, 1 + i % 12, 1 + i % 28, i % 24 }' >orders.csv
ingest() { expect_ok ingest --source-uri "csv://$1" --source-table "$(basename "$1" .csv)" --dest-uri "lakehouse://wh" "${@:2}"; }

ingest orders.csv --dest-table raw.orders
[ "$(field orders "['format_version']")" = 2 ] || fail "not format version 2"
[ "$(field orders "['schema']")" = '[[1, "id", "long"], [2, "customer", "string"], [3, "amount", "double"], [4, "placed", "timestamp"], [5, "_nilus_load_id", "string"]]' ] ||
  fail "schema: $(field orders "['schema']")"
[ "$(field orders "['manifest_rows']")" = 100000 ] || fail "the manifests do not count 100000 rows"
[ "$(field orders "['summary']['nilus.load-id']")" = "$(sqlite3 wh/catalog.db "SELECT load_id FROM _nilus_loads")" ] ||
  fail "the snapshot does not carry the load id"
field orders "['summary']['nilus.state']" | grep -q '"files":\["orders.csv"\]' || fail "the snapshot does not carry the state"
# DuckDB reads the data files and finds what it reads in the CSV file itself.
csv_sums="SELECT count(*), sum(id), count(customer), round(sum(amount), 2), min(placed), max(placed)"
expected=$(duck "$csv_sums FROM read_csv('orders.csv')")
[ "$(duck "$csv_sums FROM read_parquet($(files orders))")" = "$expected" ] || fail "the table's rows differ from the CSV file"
CHECKS=$((CHECKS + 5))

# A second file with a new column: appended in a second snapshot; the column gets a new field id.
awk 'BEGIN { print "id,customer,amount,placed,channel"; for (i = 100001; i <= 150000; i++)
  printf "%d,c%d,1.00,2024-06-01T00:00:00,web\n", i, i % 97 }' >more.csv
ingest more.csv --dest-table raw.orders
[ "$(field orders "['snapshots']")" = 2 ] || fail "no second snapshot"
[ "$(field orders "['schema'][-1]")" = '[6, "channel", "string"]' ] || fail "new column: $(field orders "['schema']")"
[ "$(duck "SELECT count(*), count(channel), sum(id) FROM read_parquet($(files orders), union_by_name = true)")" = \
  "150000|50000|11250075000" ] || fail "the appended snapshot's rows are wrong"
CHECKS=$((CHECKS + 3))

# replace: the new snapshot holds the new rows only (an overwrite).
ingest more.csv --dest-table raw.orders --incremental-strategy replace
[ "$(field orders "['operation']")" = overwrite ] || fail "replace did not overwrite"
[ "$(duck "SELECT count(*) FROM read_parquet($(files orders))")" = 50000 ] || fail "replace kept old rows"

# An incremental load that finds nothing new adds no snapshot; its state still commits.
ingest orders.csv --dest-table raw.inc --incremental-key id
ingest orders.csv --dest-table raw.inc --incremental-key id
[ "$(field inc "['snapshots']")" = 1 ] || fail "an empty load made a snapshot"
[ "$(field inc "['manifest_rows']")" = 100000 ] || fail "the incremental table has the wrong rows"

# Two runs of one pipeline at once: the second waits for the first, then finds nothing new.
for run in 1 2; do
  "$NILUS_BIN" ingest --source-uri csv://orders.csv --source-table orders --dest-uri lakehouse://wh \
    --dest-table raw.twice --incremental-key id >"$WORK/out.$run" 2>"$WORK/err.$run" &
  eval "pid$run=\$!"
done
wait "$pid1" || { cat "$WORK/err.1" >&2; fail "the first of two runs failed"; }
wait "$pid2" || { cat "$WORK/err.2" >&2; fail "the second of two runs failed"; }
[ "$(duck "SELECT count(*), count(DISTINCT id) FROM read_parquet($(files twice))")" = "100000|100000" ] ||
  fail "two runs at once loaded rows twice"
[ "$(field twice "['snapshots']")" = 1 ] || fail "two runs at once made two snapshots"
CHECKS=$((CHECKS + 2))

# loader-file-size: rows per data file.
ingest orders.csv --dest-table raw.cut --loader-file-size 30000
[ "$(duck "SELECT count(*), count(DISTINCT filename), max(n) FROM (SELECT filename, count(*) OVER (PARTITION BY filename) AS n
  FROM read_parquet($(files cut), filename = true))")" = "100000|4|30000" ] || fail "loader-file-size did not cut the files"
expect_exit 2 ingest --source-uri csv://orders.csv --source-table orders --dest-uri "sqlite:///$WORK/x.db" \
  --dest-table raw.cut --loader-file-size 30000
expect_err_contains "lakehouse"
# Options of the lakehouse it does not implement yet are refused, not ignored.
printf 'source:\n  address: csv://orders.csv\n  options: {source-table: orders}\nsink:\n  address: lakehouse://wh\n  options: {dest-table: raw.p, incremental-strategy: append, staging_bucket: s3://b}\n' >staging.yaml
expect_exit 2 validate staging.yaml
expect_err_contains "staging.yaml:6:78: sink option 'staging_bucket' is not implemented by the lakehouse:// destination yet"


# Nested arrays become child tables, Iceberg tables of their own committed with their root.
printf '%s\n' '{"id": 1, "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}]}' '{"id": 2, "items": []}' \
  '{"id": 3, "items": [{"sku": "c", "qty": 5}]}' >nested.jsonl
expect_ok ingest --source-uri jsonl://nested.jsonl --source-table nested --dest-uri lakehouse://wh --dest-table raw.nested \
  --max-table-nesting 1
[ "$(duck "SELECT count(*), sum(i.qty), count(DISTINCT n.id) FROM read_parquet($(files nested__items)) i
  JOIN read_parquet($(files nested)) n ON i._nilus_root_id = n._nilus_id")" = "3|8|2" ] || fail "the child table's rows"
[ "$(field nested__items "['summary']['nilus.load-id']")" = "$(field nested "['summary']['nilus.load-id']")" ] ||
  fail "the child table was not committed with its root"
CHECKS=$((CHECKS + 2))

# merge: the rows of a key replace the table's. A later load's keys delete the older rows by
# equality deletes; a key twice in one load (batches of 7,000 rows) keeps its last row, the
# earlier one deleted by position. DuckDB reads the table with the deletes applied and finds, for
# every key, the last row the CSV files gave it. (Compaction is off here; see below.)
scan() { field "$1" "['scan']"; }
merge() {
  ingest "$1" --dest-table raw.m --incremental-strategy merge --primary-key id --page-size 7000 \
    --compact-delete-files "${COMPACT_FILES:-0}" --compact-delete-percent "${COMPACT_PERCENT:-0}"
}
awk 'BEGIN { print "id,customer,amount,placed"; for (i = 1; i <= 20000; i++)
  printf "%d,first%d,%d.25,2024-03-01T00:00:00\n", (i * 7919) % 30000, i, i % 500 }' >m1.csv
awk 'BEGIN { print "id,customer,amount,placed"; for (i = 1; i <= 20000; i++)
  printf "%d,second%d,%d.75,2024-04-01T00:00:00\n", (i * 104729) % 15000, i, i % 300 }' >m2.csv
merge m1.csv
merge m2.csv
last_rows="SELECT id, last(customer ORDER BY n) AS customer, last(amount ORDER BY n) AS amount
  FROM (SELECT *, row_number() OVER () + f * 1000000 AS n FROM (SELECT *, 1 AS f FROM read_csv('m1.csv')
        UNION ALL BY NAME SELECT *, 2 AS f FROM read_csv('m2.csv'))) GROUP BY id"
sums="SELECT count(*), count(DISTINCT id), sum(id), md5(string_agg(id || customer || amount, ',' ORDER BY id))"
[ "$(duck "$sums FROM ($(scan m))")" = "$(duck "$sums FROM ($last_rows)")" ] || fail "the merged table differs from the last rows of each key"
[ "$(field m "['summary']['added-equality-delete-files']")" -ge 1 ] || fail "the second merge wrote no equality deletes"
[ "$(field m "['summary']['added-position-deletes']")" -ge 1 ] || fail "keys repeated in one load left no position deletes"
[ "$(field m "['operation']")" = overwrite ] || fail "a merge with deletes is not an overwrite"
CHECKS=$((CHECKS + 4))

# Compaction: a third merge, with the sink of the example of docs/connectors/lakehouse.md, finds
# the table's deletes at more than compact-delete-percent (20) of its rows, and rewrites the data
# files they take rows out of without those rows, in its own commit; the delete files go (its
# own keys were not repeated: it writes none). DuckDB reads the data files alone, no delete
# applied, and finds the last row of each key.
awk 'BEGIN { print "id,customer,amount,placed"; for (i = 1; i <= 5000; i++)
  printf "%d,third%d,%d.5,2024-05-01T00:00:00\n", (i * 7) % 40000, i, i % 70 }' >m3.csv
{ printf 'source:\n  address: csv://m3.csv\n  options: {source-table: m3}\n'
  awk '/^## Compaction/ { on = 1 } on && /^```yaml$/ { block = 1; next } block && /^```/ { exit } block' \
    "$ROOT/docs/connectors/lakehouse.md" | sed 's|lakehouse://lake|lakehouse://wh|; s|raw.orders|raw.m|'
} >compact.yaml
grep -q "compact-delete-percent: 20" compact.yaml || fail "docs/connectors/lakehouse.md has no compaction example"
expect_ok run compact.yaml
expect_err_contains "raw.m: compacted: 2 data files of "
last_of() {  # last_of FILE…: the last row of each key of the CSV files, in order
  local union="" f=0 file
  for file in "$@"; do
    f=$((f + 1))
    union="$union${union:+ UNION ALL BY NAME }SELECT *, $f AS f FROM read_csv('$file')"
  done
  echo "SELECT id, last(customer ORDER BY n) AS customer, last(amount ORDER BY n) AS amount
    FROM (SELECT *, row_number() OVER () + f * 1000000 AS n FROM ($union)) GROUP BY id"
}
[ "$(field m "['delete_files']")" = 0 ] || fail "compaction left delete files: $(field m "['delete_files']")"
[ "$(duck "$sums FROM read_parquet($(files m))")" = "$(duck "$sums FROM ($(last_of m1.csv m2.csv m3.csv))")" ] ||
  fail "the compacted data files differ from the last rows of each key"
[ "$(field m "['summary']['removed-delete-files']")" = 2 ] || fail "the summary does not count the delete files taken out"
# The rows keep the load ids of the loads that wrote them.
[ "$(duck "SELECT count(DISTINCT _nilus_load_id) FROM read_parquet($(files m))")" = 3 ] || fail "compaction lost the rows' load ids"
# Killed before its commit, a compacting merge leaves the table as it was; the next run takes its
# files away and compacts again.
awk 'BEGIN { print "id,customer,amount,placed"; for (i = 1; i <= 3000; i++)
  printf "%d,fourth%d,%d.5,2024-06-01T00:00:00\n", (i * 11) % 40000, i, i % 70 }' >m4.csv
snapshots=$(field m "['snapshots']")
NILUS_FAILPOINT=lakehouse-before-swap nilus ingest --source-uri csv://m4.csv --source-table m4 --dest-uri lakehouse://wh \
  --dest-table raw.m --incremental-strategy merge --primary-key id --compact-delete-files 1
[ "$RC" = 137 ] || fail "the failpoint before the swap did not kill the compacting run (exit $RC)"
grep -q "raw.m: compacted" "$WORK/err" || fail "the killed run did not compact"
[ "$(field m "['snapshots']")" = "$snapshots" ] || fail "a compacting load killed before its swap changed the table"
COMPACT_FILES=1 merge m4.csv
expect_err_contains "that did not commit"
expect_err_contains "raw.m: compacted"
[ "$(duck "$sums FROM read_parquet($(files m))")" = "$(duck "$sums FROM ($(last_of m1.csv m2.csv m3.csv m4.csv))")" ] ||
  fail "after a killed compaction, the table differs from the last rows of each key"
killed=$(grep -o 'left by load [^ ]*' "$WORK/err" | head -1 | cut -d' ' -f4)
[ -n "$killed" ] && ! ls wh/raw/m/data | grep -qF "$killed" || fail "files of the killed compaction were left"
CHECKS=$((CHECKS + 10))
# A merged table with nested arrays would need its child rows deleted by their root: refused.
expect_exit 2 ingest --source-uri jsonl://nested.jsonl --source-table nested --dest-uri lakehouse://wh \
  --dest-table raw.nm --max-table-nesting 1 --incremental-strategy merge --primary-key id
expect_err_contains "max-table-nesting 0"

# partition-by: each row lands in the data file of its partition (the month it was placed, the
# first two letters of its customer, one of four buckets of its id: about 500 partitions), one
# file for each. Every file's rows are checked against the partition its
# manifest gives it, the buckets with a Murmur3 of Python's, and the rows against the CSV file.
partitioned() {  # partitioned FILE TABLE STRATEGY PARTITION-BY: a pipeline manifest on stdout
  printf 'source:\n  address: csv://%s\n  options: {source-table: %s, page-size: 7000}\nsink:\n  address: lakehouse://wh\n  options:\n    dest-table: raw.%s\n    incremental-strategy: %s\n    primary-key: [id]\n    partition-by: %s\n' \
    "$1" "$(basename "$1" .csv)" "$2" "$3" "$4"
}
partitioned orders.csv parts append '[{column: placed, type: month}, {column: customer, type: truncate, width: 2}, {column: id, type: bucket, bucket-count: 4}]' >parts.yaml
expect_ok run parts.yaml
[ "$(duck "$csv_sums FROM read_parquet($(files parts))")" = "$expected" ] || fail "the partitioned table's rows differ from the CSV file"
check_partitions() {  # check_partitions TABLE QUERY: QUERY gives each row's file and source values
  table "$1" >"$WORK/table.json"
  duck "$2" | /usr/bin/python3 -c '
import json, struct, sys
def murmur3(data):
    c1, c2, h, mask = 0xcc9e2d51, 0x1b873593, 0, 0xffffffff
    rotl = lambda x, r: ((x << r) | (x >> (32 - r))) & mask
    for i in range(0, len(data) // 4 * 4, 4):
        k = rotl(int.from_bytes(data[i:i + 4], "little") * c1 & mask, 15) * c2 & mask
        h = (rotl(h ^ k, 13) * 5 + 0xe6546b64) & mask
    tail, k = data[len(data) // 4 * 4:], 0
    for i, b in enumerate(tail):
        k |= b << (8 * i)
    if tail:
        h ^= rotl(k * c1 & mask, 15) * c2 & mask
    h ^= len(data)
    for shift, mult in ((16, 0x85ebca6b), (13, 0xc2b2ae35), (16, 1)):
        h = (h ^ (h >> shift)) * mult & mask
    return h
table = json.load(open(sys.argv[1]))
partition = {path: values for path, spec, values in table["partitions"]}
seen = set()
for line in sys.stdin:
    path, *values = line.rstrip("\n").split("|")
    want = {}
    for item in values:
        name, value = item.split("=", 1)
        if name.endswith("_bucket"):
            value = murmur3(struct.pack("<q", int(value))) % 4
        want[name] = None if value == "" else value if isinstance(value, int) else type(partition[path][name])(value)
    if want != partition[path]:
        sys.exit(f"a row of {path} belongs to {want}, not to its partition {partition[path]}")
    seen.add(json.dumps(want, sort_keys=True))
print(len(seen))' "$WORK/table.json"
}
[ "$(check_partitions parts "SELECT filename, 'placed_month=' || datediff('month', TIMESTAMP '1970-01-01', placed),
  'customer_truncate=' || coalesce(left(customer, 2), ''), 'id_bucket=' || id FROM read_parquet($(files parts), filename = true)")" = \
  "$(field parts "['files'].__len__()")" ] || fail "the rows are not in the partitions of their values, one file for each"
[ "$(field parts "['manifest_meta']['partition-spec']")" = '[{"field-id":1000,"name":"placed_month","source-id":4,"transform":"month"},{"field-id":1001,"name":"customer_truncate","source-id":2,"transform":"truncate[2]"},{"field-id":1002,"name":"id_bucket","source-id":1,"transform":"bucket[4]"}]' ] ||
  fail "the manifest's partition spec: $(field parts "['manifest_meta']['partition-spec']")"
CHECKS=$((CHECKS + 3))
# The partitioning example of docs/connectors/lakehouse.md, with a source of those columns.
awk 'BEGIN { print "id,placed,region,sku"; for (i = 1; i <= 5000; i++)
  printf "%d,2024-%02d-01,%s,SKU-%d\n", i, 1 + i % 12, (i % 3 ? "eu" : "us"), i % 50 }' >doc_parts.csv
{ printf 'source:\n  address: csv://doc_parts.csv\n  options: {source-table: doc_parts}\n'
  awk '/^## Partitioning/ { on = 1 } on && /^```yaml$/ { block = 1; next } block && /^```/ { exit } block' "$ROOT/docs/connectors/lakehouse.md"
} >doc_parts.yaml
expect_ok run doc_parts.yaml
[ "$(CATALOG=lake/catalog.db field orders "['manifest_meta']['partition-spec']" | /usr/bin/python3 -c 'import json, sys
print(" ".join(f["name"] + ":" + f["transform"] for f in json.loads(sys.stdin.read())))')" = \
  "placed_month:month region:identity id_bucket:bucket[16] sku_prefix:truncate[4]" ] || fail "the doc's partitioning example"
CHECKS=$((CHECKS + 1))
# Partition evolution: a load with another partition-by writes its files for a new spec; the
# earlier files keep theirs, and the table reads whole.
partitioned more.csv parts append '[{column: placed, type: day}]' >parts2.yaml
expect_ok run parts2.yaml
[ "$(duck "SELECT count(*), count(channel) FROM read_parquet($(files parts), union_by_name = true)")" = "150000|50000" ] ||
  fail "the table with two partition specs lost rows"
[ "$(table parts | /usr/bin/python3 -c 'import json, sys
print(json.dumps(sorted({spec: sorted(values) for _, spec, values in json.load(sys.stdin)["partitions"]}.items())))')" = \
  '[[1, ["customer_truncate", "id_bucket", "placed_month"]], [2, ["placed_day"]]]' ] || fail "the evolved table's files are not of two specs"
CHECKS=$((CHECKS + 2))
# merge into a partitioned table: a key's row moves to another month's partition; its older row
# goes by an equality delete of the unpartitioned spec (it applies to every partition), a key
# twice in one load by a position delete of its own partition. The reader applies deletes only
# where the specification scopes them, so a delete in the wrong partition would leave a row.
merges_to_last_rows() {  # merges_to_last_rows TABLE MAKE ARGS: m1.csv, then m2.csv, merged by MAKE's pipelines
  local table=$1 make=$2
  shift 2
  "$make" m1.csv "$table" merge "$@" >"${table}1.yaml"
  "$make" m2.csv "$table" merge "$@" >"${table}2.yaml"
  expect_ok run "${table}1.yaml"
  expect_ok run "${table}2.yaml"
  [ "$(duck "$sums FROM ($(scan "$table"))")" = "$(duck "$sums FROM ($last_rows)")" ] ||
    fail "merged into raw.$table, the table differs from the last rows of each key"
}
merges_to_last_rows pm partitioned '[{column: placed, type: month}, {column: id, type: bucket, bucket-count: 3}]'
[ "$(field pm "['summary']['added-position-deletes']")" -ge 1 ] || fail "the partitioned merge left no position deletes"
# The second merge compacted the table, each partition's files into one of that partition.
[ "$(field pm "['summary']['deleted-data-files']")" -ge 2 ] || fail "the partitioned merge was not compacted"
[ "$(field pm "['delete_manifest_meta']['partition-spec-id']")" != "" ] || fail "no delete manifest"
CHECKS=$((CHECKS + 3))
# A partition-by that does not fit the table fails before anything is written.
partitioned orders.csv bad append '[{column: shipped, type: day}]' >bad1.yaml
expect_exit 2 run bad1.yaml
expect_err_contains "partition-by names the column 'shipped', which the table at $WORK/wh/raw/bad does not have; its columns are: id, customer, amount, placed"
partitioned orders.csv bad append '[{column: customer, type: day}]' >bad2.yaml
expect_exit 2 run bad2.yaml
expect_err_contains "partition-by day of column 'customer': the column is string, and day applies to date, timestamp and timestamptz columns only"
[ "$(table bad | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["exists"])')" = False ] || fail "a refused load created its table"

# cluster-by: the table's sort order; the rows of each data file are sorted by it (ascending,
# nulls first). The files of four loads (30,000 rows each, cut by loader-file-size) and of a
# partitioned table are each in order, and hold the CSV file's rows.
clustered() {  # clustered FILE TABLE STRATEGY EXTRA-SINK-OPTIONS: a pipeline manifest on stdout
  printf 'source:\n  address: csv://%s\n  options: {source-table: %s, page-size: 7000}\nsink:\n  address: lakehouse://wh\n  options:\n    dest-table: raw.%s\n    incremental-strategy: %s\n    primary-key: [id]\n    cluster-by: [customer, amount]\n%s' \
    "$1" "$(basename "$1" .csv)" "$2" "$3" "$4"
}
in_order="SELECT count(*) FILTER (WHERE a <> b), count(*) FROM (SELECT
  row_number() OVER (PARTITION BY filename ORDER BY file_row_number) a,
  row_number() OVER (PARTITION BY filename ORDER BY customer NULLS FIRST, amount NULLS FIRST, file_row_number) b"
clustered orders.csv sorted append $'    loader-file-size: 30000\n' >sorted.yaml
expect_ok run sorted.yaml
[ "$(duck "$in_order FROM read_parquet($(files sorted), filename = true, file_row_number = true))")" = "0|100000" ] ||
  fail "the rows of a file are not in the table's sort order"
[ "$(duck "$csv_sums FROM read_parquet($(files sorted))")" = "$expected" ] || fail "the sorted table's rows differ from the CSV file"
[ "$(duck "SELECT count(DISTINCT filename) FROM read_parquet($(files sorted), filename = true)")" = 4 ] || fail "loader-file-size did not cut the sorted files"
[ "$(table sorted | /usr/bin/python3 -c 'import json, sys; t = json.load(sys.stdin)
print(json.dumps([t["default_sort_order"], sorted(set(t["sort_order_ids"]))]))')" = \
  '[[{"direction": "asc", "null-order": "nulls-first", "source-id": 2, "transform": "identity"}, {"direction": "asc", "null-order": "nulls-first", "source-id": 3, "transform": "identity"}], [1]]' ] ||
  fail "the sort order is not the table's and its files': $(table sorted | head -c 300)"
clustered orders.csv sortparts append $'    partition-by: [{column: placed, type: month}]\n' >sortparts.yaml
expect_ok run sortparts.yaml
[ "$(duck "$in_order FROM read_parquet($(files sortparts), filename = true, file_row_number = true))")" = "0|100000" ] ||
  fail "the rows of a partition's file are not in the table's sort order"
CHECKS=$((CHECKS + 5))
# merge into a sorted table: the positions of a load's rows are known once a file is written
# in order, so the position deletes of keys repeated in one load must name them there.
merges_to_last_rows sm clustered ''
[ "$(field sm "['summary']['added-position-deletes']")" -ge 1 ] || fail "the sorted merge left no position deletes"
[ "$(field sm "['summary']['deleted-data-files']")" -ge 1 ] || fail "the sorted merge was not compacted"
merges_to_last_rows spm partitioned $'[{column: id, type: bucket, bucket-count: 5}]\n    cluster-by: [customer]'
partitioned orders.csv bad append $'[]\n    cluster-by: [shipped]' >bad3.yaml
expect_exit 2 run bad3.yaml
expect_err_contains "cluster-by names the column 'shipped', which the table at $WORK/wh/raw/bad does not have; its columns are: id, customer, amount, placed"
CHECKS=$((CHECKS + 4))

# The history stays bounded (a CDC pipeline commits every second): 205 merges leave 100
# snapshots, 100 earlier metadata files and 100 version copies, and every row. Each load adds a
# data manifest and a delete manifest (it updates key 1); once a hundred small ones of a kind
# are in the list they are merged into one (their files keep their sequence numbers, so the
# deletes still apply where they did), so the list stays short, and the manifests merged away go
# when the snapshot before the one that merged them expires. Load 3 replaces the table: when the
# snapshot of load 2 expires (load 102), the files load 3 took out of the table go too. The
# merges compact the table (their deletes reach 20% of its rows every few loads): the files a
# compaction took out go when the snapshot before it expires. Then every file left is one that a
# kept snapshot refers to.
hist_load() {
  printf 'id,v\n1,%d\n%d,%d\n' "$1" "$1" "$1" >"one$1.csv"
  "$NILUS_BIN" ingest --source-uri "csv://one$1.csv" --source-table "one$1" --dest-uri lakehouse://wh \
    --dest-table raw.hist --incremental-strategy "$([ "$1" = 3 ] && echo replace || echo merge)" --primary-key id \
    >/dev/null 2>&1 || fail "a load of the history test failed"
}
# The files of raw.hist (data, deletes, manifests) that no kept snapshot refers to.
unreferenced() {
  /usr/bin/python3 -W ignore -c '
import glob, json, os, sqlite3, sys
import avro.datafile, avro.io
def records(path):
    with open(path, "rb") as f:
        return list(avro.datafile.DataFileReader(f, avro.io.DatumReader()))
location = sqlite3.connect("wh/catalog.db").execute(
    "SELECT metadata_location FROM iceberg_tables WHERE table_name = ?", ("hist",)).fetchone()[0]
referenced = set()
for snapshot in json.load(open(location))["snapshots"]:
    for manifest in records(snapshot["manifest-list"]):
        referenced.add(manifest["manifest_path"])
        referenced |= {e["data_file"]["file_path"] for e in records(manifest["manifest_path"]) if e["status"] != 2}
folder = os.path.abspath("wh/raw/hist")
print(len(set(glob.glob(folder + "/data/*") + glob.glob(folder + "/metadata/*-m*.avro")) - referenced))'
}
for i in $(seq 105); do hist_load "$i"; done
# Unmerged, the list would hold two manifests for each load; merged, at most 99 small ones of each
# kind and the merged ones.
[ "$(field hist "['manifests']")" -le 202 ] || fail "the manifests were not merged: $(field hist "['manifests']") in the list"
[ "$(duck "SELECT count(*), sum(id), sum(v), max(v) FILTER (WHERE id = 1) FROM ($(scan hist))")" = "104|5563|5667|105" ] ||
  fail "merging manifests lost rows or deletes: $(duck "SELECT count(*), sum(id), sum(v) FROM ($(scan hist))")"
for i in $(seq 106 205); do hist_load "$i"; done
[ "$(field hist "['snapshots']")" = 100 ] || fail "snapshots were not expired: $(field hist "['snapshots']")"
[ "$(duck "SELECT count(*), sum(id), sum(v), max(v) FILTER (WHERE id = 1) FROM ($(scan hist))")" = "204|21113|21317|205" ] ||
  fail "expiring snapshots lost rows or deletes"
[ "$(unreferenced)" = 0 ] || fail "$(unreferenced) files that no snapshot refers to were left"
[ "$(field hist "['manifests']")" -le 202 ] || fail "the manifest list grew: $(field hist "['manifests']")"
[ "$(ls wh/raw/hist/metadata | grep -c -- '-snap-')" = 100 ] || fail "manifest lists of expired snapshots were left"
[ "$(ls wh/raw/hist/metadata | grep -c -- '-[0-9]*\.metadata\.json$')" = 101 ] || fail "old metadata files were left"
[ "$(ls wh/raw/hist/metadata | grep -c '^v[0-9]*\.metadata\.json$')" = 101 ] || fail "old version copies were left"
CHECKS=$((CHECKS + 9))

# A run killed while it writes leaves the table as it was; its files are taken away by the next
# run, which loads every row once.
awk 'BEGIN { print "id,customer,amount,placed"; for (i = 1; i <= 3000000; i++)
  printf "%d,c%d,%d.5,2024-01-01T00:00:00\n", i, i % 97, i % 1000 }' >big.csv
before=$(field orders "['snapshots']")
"$NILUS_BIN" ingest --source-uri csv://big.csv --source-table big --dest-uri lakehouse://wh --dest-table raw.orders \
  >"$WORK/out" 2>"$WORK/err" &
pid=$!
committed=$(sqlite3 wh/catalog.db "SELECT DISTINCT load_id FROM _nilus_loads")
killed=""
until [ -n "$killed" ]; do
  kill -0 "$pid" 2>/dev/null || fail "the big load ended before it could be killed"
  sleep 0.05
  killed=$(ls wh/raw/orders/data/ | cut -d- -f1 | sort -u | grep -vxF "$committed" || true)
done
kill -KILL "$pid"
wait "$pid" || true
[ "$(field orders "['snapshots']")" = "$before" ] || fail "the killed load changed the table"
[ "$(duck "SELECT count(*) FROM read_parquet($(files orders))")" = 50000 ] || fail "the killed load is visible"
ingest big.csv --dest-table raw.orders
expect_err_contains "that did not commit"
[ "$(duck "SELECT count(*), count(DISTINCT id) FROM read_parquet($(files orders), union_by_name = true) WHERE channel IS NULL")" = \
  "3000000|3000000" ] || fail "the rerun did not load every row once"
if ls wh/raw/orders/data wh/raw/orders/metadata | grep -qF "$killed"; then
  fail "files of the killed load $killed were left: $(ls wh/raw/orders/data)"
fi
CHECKS=$((CHECKS + 4))

# The same for a partitioned load, killed while it writes sixteen partitions' files at once.
printf 'source:\n  address: csv://big.csv\n  options: {source-table: big}\nsink:\n  address: lakehouse://wh\n  options:\n    dest-table: raw.bigparts\n    incremental-strategy: append\n    partition-by: [{column: id, type: bucket, bucket-count: 16}]\n' >bigparts.yaml
"$NILUS_BIN" run bigparts.yaml >"$WORK/out" 2>"$WORK/err" &
pid=$!
until [ "$(ls wh/raw/bigparts/data 2>/dev/null | wc -l)" -ge 16 ]; do
  kill -0 "$pid" 2>/dev/null || fail "the partitioned load ended before it could be killed"
  sleep 0.05
done
kill -KILL "$pid"
wait "$pid" || true
[ "$(field bigparts "['exists']")" = False ] || fail "the killed partitioned load is visible"
expect_ok run bigparts.yaml
expect_err_contains "that did not commit"
[ "$(duck "SELECT count(*), count(DISTINCT id), sum(id) FROM read_parquet($(files bigparts))")" = "3000000|3000000|4500001500000" ] ||
  fail "the rerun of the partitioned load did not load every row once"
[ "$(ls wh/raw/bigparts/data | cut -d- -f1 | sort -u | wc -l)" = 1 ] || fail "files of the killed partitioned load were left"
CHECKS=$((CHECKS + 3))

# SIGTERM while it writes: the run stops (exit 130) and takes away what it wrote; the table does
# not exist.
"$NILUS_BIN" ingest --source-uri csv://big.csv --source-table big --dest-uri lakehouse://wh --dest-table raw.term \
  >"$WORK/out" 2>"$WORK/err" &
pid=$!
until [ -n "$(ls wh/raw/term/data 2>/dev/null)" ]; do
  kill -0 "$pid" 2>/dev/null || fail "the load to stop ended before it wrote a file"
  sleep 0.05
done
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 130 ] || { cat "$WORK/err" >&2; fail "SIGTERM: exit $rc, expected 130"; }
[ "$(field term "['exists']")" = False ] || fail "a stopped load is visible"
[ -z "$(find wh/raw/term -type f)" ] || fail "a stopped load left files: $(find wh/raw/term -type f)"
CHECKS=$((CHECKS + 3))

# Killed exactly before the catalog swap (NILUS_FAILPOINT; every file written): the table and
# the state are as they were, and the next run loads the rows once. Killed exactly after it: the
# load is committed, and the next run finds nothing new and only takes the marker away.
awk 'BEGIN { print "id,v"; for (i = 1; i <= 1000; i++) printf "%d,%d\n", i, i * 3 }' >fp.csv
fp() { ingest fp.csv --dest-table raw.fp --incremental-key id; }
NILUS_FAILPOINT=lakehouse-before-swap nilus ingest --source-uri csv://fp.csv --source-table fp --dest-uri lakehouse://wh \
  --dest-table raw.fp --incremental-key id
[ "$RC" = 137 ] || fail "the failpoint before the swap did not kill the run (exit $RC)"
[ "$(field fp "['exists']")" = False ] || fail "a load killed before the swap is visible"
[ -n "$(ls wh/raw/fp/data)" ] || fail "the killed load had written no files (the failpoint is not after them)"
fp
expect_err_contains "that did not commit"
[ "$(duck "SELECT count(*), count(DISTINCT id), sum(v) FROM read_parquet($(files fp))")" = "1000|1000|1501500" ] ||
  fail "the run after a kill before the swap did not load every row once"
awk 'BEGIN { print "id,v"; for (i = 1; i <= 2000; i++) printf "%d,%d\n", i, i * 3 }' >fp2.csv
NILUS_FAILPOINT=lakehouse-after-swap nilus ingest --source-uri csv://fp2.csv --source-table fp2 --dest-uri lakehouse://wh \
  --dest-table raw.fp --incremental-key id
[ "$RC" = 137 ] || fail "the failpoint after the swap did not kill the run (exit $RC)"
[ -n "$(ls wh/raw/fp/pending)" ] || fail "no marker left by the load killed after its swap"
snapshots=$(field fp "['snapshots']")
ingest fp2.csv --dest-table raw.fp --incremental-key id
expect_err_lacks "that did not commit"
[ "$(field fp "['snapshots']")" = "$snapshots" ] || fail "the run after a kill after the swap loaded rows again"
[ -z "$(ls wh/raw/fp/pending)" ] || fail "the marker of the committed load was left"
[ "$(duck "SELECT count(*), count(DISTINCT id), sum(v) FROM read_parquet($(files fp))")" = "2000|2000|6003000" ] ||
  fail "a load killed after its swap lost or doubled rows"
CHECKS=$((CHECKS + 9))

done_ok
