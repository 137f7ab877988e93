#!/usr/bin/env bash
# The lakehouse as a source: the current snapshot of an Iceberg table nilus wrote (appends,
# merges with equality and position deletes, a replace, a new column, partitions) read back
# into SQLite and into another lakehouse table, compared row by row with the table as readers
# nilus did not write see it (python3-avro for the metadata, DuckDB applying the deletes);
# later runs read only the files added since; yield-limit resumes inside a snapshot.
source "$(dirname "$0")/lib.sh"
DUCKDB=$(bash "$ROOT/tests/tools/duckdb/ensure.sh")
duck() { node "$DUCKDB" "$1" || echo "DuckDB failed: $1 ($RANDOM)"; }
table() { /usr/bin/python3 -W ignore "$ROOT/tests/tools/iceberg_read.py" "$WORK/wh/catalog.db" raw "$1"; }
# scan TABLE: DuckDB's query of the table's rows, deletes applied.
scan() { table "$1" | /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)['scan'])"; }
load() { expect_ok ingest --source-uri "csv://$WORK/$1" --source-table "${1%.csv}" --dest-uri "lakehouse://$WORK/wh" "${@:2}"; }
out="sqlite:///$WORK/out.db"
read_table() { expect_ok ingest --source-uri "lakehouse://$WORK/wh" --source-table "raw.$1" --dest-uri "$out" "${@:2}"; }
# same TABLE SQLITE_TABLE: the SQLite table holds the lakehouse table's rows, as DuckDB reads them.
same() {
  expect_output "$2" "$(duck "SELECT id, name, v FROM ($(scan "$1")) ORDER BY id")" \
    q out.db "SELECT id, name, v FROM $2 ORDER BY id"
}
gen() { awk -v first="$2" -v n="$3" -v tag="$4" 'BEGIN { print "id,name,v"; for (i = first; i < first + n; i++) printf "%d,%s%d,%d\n", i, tag, i, i * 3 }' >"$1"; }

# Appends and merges: the merges write equality deletes (a key's older row in an earlier load)
# and position deletes (a key twice in one load), left as they are (compaction off).
merge() { load "$1" --dest-table raw.t --incremental-strategy merge --primary-key id "${@:2}"; }
uncompacted=(--compact-delete-files 0 --compact-delete-percent 0)
gen a.csv 1 30000 a
merge a.csv "${uncompacted[@]}"
gen b.csv 20001 20000 b
gen again.csv 25001 100 again
cat b.csv <(tail -n +2 again.csv) >b2.csv
merge b2.csv "${uncompacted[@]}"
printf 'id,name,v,_nilus_op\n5,x,0,d\n25050,x,0,d\n' >del.csv
merge del.csv "${uncompacted[@]}"
[ "$(table t | /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)['delete_files'])")" = 2 ] ||
  fail "the merges did not leave their two equality delete files"
CHECKS=$((CHECKS + 1))
read_table t --dest-table main.t
same t t
expect_query out.db "SELECT count(*), count(DISTINCT id), sum(name LIKE 'again%'), max(id) FROM t" "39998|39998|99|40000"
expect_query out.db "SELECT group_concat(name || ' ' || type, ', ') FROM pragma_table_info('t')" \
  "id BIGINT, name TEXT, v BIGINT, _nilus_load_id TEXT"

# A second run reads nothing new; after a new load, only what it added. That load compacts the
# table (the deletes are more than 20% of its rows): the files compaction wrote keep the
# sequence number of the files they replace, which the reader has read, so it does not read
# their rows again; no delete file is left to apply.
read_table t --dest-table main.t
expect_query out.db "SELECT rows FROM _nilus_loads ORDER BY finished_at DESC LIMIT 1" "0"
gen c.csv 40001 500 c
merge c.csv
expect_err_contains "raw.t: compacted: 2 data files of 50000 rows rewritten without the 10002 rows deleted, 0 rows deleted by position; 2 delete files gone, 1 files written"
read_table t --dest-table main.t
expect_query out.db "SELECT rows FROM _nilus_loads ORDER BY finished_at DESC LIMIT 1" "500"
expect_err_contains "1 data files to read, 0 delete files applied"
same t t

# replace reads the whole snapshot again; so does a full refresh.
read_table t --dest-table main.t --incremental-strategy replace
same t t

# A new column (schema evolution): the rows before it read as NULL.
printf 'id,name,v,color\n50001,n,1,red\n' >d.csv
load d.csv --dest-table raw.t
read_table t --dest-table main.t2 --incremental-strategy replace
expect_query out.db "SELECT count(*), count(color), max(color) FROM t2" "40499|1|red"

# yield-limit: runs of two batches (a batch holds rows of one file: 20000 and 10000 of each
# file of 30000) read the snapshot once, no row twice.
gen big.csv 1 100000 p
load big.csv --dest-table raw.big --loader-file-size 30000
for _ in 1 2 3 4 5; do
  read_table big --dest-table main.big --page-size 20000 --yield-limit 2
done
expect_query out.db "SELECT group_concat(rows) FROM (SELECT rows FROM _nilus_loads WHERE table_name = 'main.big' ORDER BY finished_at)" \
  "30000,30000,30000,10000,0"
expect_query out.db "SELECT count(*), count(DISTINCT id), sum(id) FROM big" "100000|100000|5000050000"
same big big

# A read killed mid-load (SIGKILL, then SIGTERM) leaves the destination and the state as they
# were; the rerun loads every row once.
gen huge.csv 1 1500000 h
load huge.csv --dest-table raw.huge
start_load "$WORK/crash.db-wal" ingest --source-uri "lakehouse://$WORK/wh" --source-table raw.huge \
  --dest-uri "sqlite:///$WORK/crash.db" --dest-table main.huge
stop_load KILL 137
expect_query crash.db "SELECT count(*) FROM sqlite_master WHERE name = 'huge'" "0"
start_load "$WORK/crash.db-wal" ingest --source-uri "lakehouse://$WORK/wh" --source-table raw.huge \
  --dest-uri "sqlite:///$WORK/crash.db" --dest-table main.huge
stop_load TERM 130
expect_ok ingest --source-uri "lakehouse://$WORK/wh" --source-table raw.huge --dest-uri "sqlite:///$WORK/crash.db" \
  --dest-table main.huge
expect_query crash.db "SELECT count(*), count(DISTINCT id), sum(id) FROM huge" "1500000|1500000|1125000750000"

# Compaction does not rewrite a file that loses few of its rows: their equality deletes become
# position deletes (1,000 of the 1,500,000 rows of raw.huge's file, merged anew).
gen few.csv 700001 1000 f
load few.csv --dest-table raw.huge --incremental-strategy merge --primary-key id --compact-delete-files 1
expect_err_contains "raw.huge: compacted: 0 data files of 0 rows rewritten without the 0 rows deleted, 1000 rows deleted by position; 0 delete files gone, 1 files written"
[ "$(table huge | /usr/bin/python3 -c "import json, sys; t = json.load(sys.stdin)
print(t['delete_files'], t['summary']['added-position-deletes'], t['summary']['added-equality-deletes'])")" = "1 1000 0" ] ||
  fail "the equality deletes did not become 1,000 position deletes"
read_table huge --dest-table main.huge --incremental-strategy replace
same huge huge
expect_query out.db "SELECT count(*), sum(name LIKE 'f%'), sum(id) FROM huge" "1500000|1000|1125000750000"
CHECKS=$((CHECKS + 1))

# Partitioned and sorted, then merged: deletes scoped by partition.
printf 'source:\n  address: csv://%s/big.csv\n  options: {source-table: big}\nsink:\n  address: lakehouse://%s/wh\n  options:\n    dest-table: raw.parts\n    incremental-strategy: merge\n    primary-key: [id]\n    partition-by: [{column: v, type: bucket, bucket-count: 4}]\n    cluster-by: [name]\n' "$WORK" "$WORK" >parts.yaml
expect_ok run parts.yaml
gen more.csv 99001 2000 q
sed -i "s|big.csv|more.csv|; s|{source-table: big}|{source-table: more}|" parts.yaml
expect_ok run parts.yaml
read_table parts --dest-table main.parts
same parts parts
expect_query out.db "SELECT count(*), sum(name LIKE 'q%') FROM parts" "101000|2000"

# Into another lakehouse table: the same rows and column types.
expect_ok ingest --source-uri "lakehouse://$WORK/wh" --source-table raw.t --dest-uri "lakehouse://$WORK/wh" \
  --dest-table raw.copy
expect_output "the copy" "$(duck "SELECT id, name, v, color FROM ($(scan t)) ORDER BY id")" \
  duck "SELECT id, name, v, color FROM ($(scan copy)) ORDER BY id"
expect_output "the copy's schema" "$(table t | /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)['schema'])")" \
  sh -c "/usr/bin/python3 -W ignore '$ROOT/tests/tools/iceberg_read.py' '$WORK/wh/catalog.db' raw copy | /usr/bin/python3 -c \"import json, sys; print(json.load(sys.stdin)['schema'])\""

# sql-exclude-columns leaves columns out.
read_table t --dest-table main.few --sql-exclude-columns name,v
expect_query out.db "SELECT group_concat(name, ',') FROM pragma_table_info('few')" "id,_nilus_load_id,color"

# The codec on request (?compression=snappy|none; zstd by default): DuckDB finds it in every
# column chunk, and the table reads back.
for codec in snappy none; do
  expect_ok ingest --source-uri "csv://$WORK/c.csv" --source-table c --dest-uri "lakehouse://$WORK/$codec?compression=$codec" \
    --dest-table raw.c
  expect_output "the $codec table's codecs" "$([ $codec = none ] && echo UNCOMPRESSED || echo SNAPPY)" \
    duck "SELECT DISTINCT compression FROM parquet_metadata('$WORK/$codec/raw/c/data/*.parquet')"
  expect_ok ingest --source-uri "lakehouse://$WORK/$codec" --source-table raw.c --dest-uri "$out" --dest-table "main.c_$codec"
  expect_query out.db "SELECT count(*), sum(id) FROM c_$codec" "500|20125250"
done
# A table whose catalog and metadata name its files as other engines do (file: URIs) is read and
# written like one of nilus's.
meta=$(q snappy/catalog.db "SELECT metadata_location FROM iceberg_tables WHERE table_name = 'c'")
sed -i 's|"location": "/|"location": "file:///|' "$meta"
grep -q '"location": "file:///' "$meta" || fail "the metadata's location was not rewritten"
q snappy/catalog.db "UPDATE iceberg_tables SET metadata_location = 'file://' || metadata_location WHERE table_name = 'c'"
expect_ok ingest --source-uri "csv://$WORK/more.csv" --source-table more --dest-uri "lakehouse://$WORK/snappy?compression=snappy" \
  --dest-table raw.c
expect_ok ingest --source-uri "lakehouse://$WORK/snappy" --source-table raw.c --dest-uri "$out" --dest-table main.c_uri \
  --incremental-strategy replace
expect_query out.db "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM c_uri" "2500|2500|40001|101000"
expect_query snappy/catalog.db "SELECT substr(metadata_location, 1, 8) FROM iceberg_tables WHERE table_name = 'c'" "file:///"

expect_exit 2 ingest --source-uri "csv://$WORK/c.csv" --source-table c --dest-uri "lakehouse://$WORK/x?compression=lz4" \
  --dest-table raw.c
expect_err_contains "compression must be zstd, snappy or none, got 'lz4'"
expect_exit 2 ingest --source-uri "csv://$WORK/c.csv" --source-table c --dest-uri "lakehouse://$WORK/x?codec=zstd" \
  --dest-table raw.c
expect_err_contains "unknown lakehouse address parameter 'codec'"
expect_exit 2 ingest --source-uri "lakehouse://$WORK/snappy?compression=snappy" --source-table raw.c --dest-uri "$out" \
  --dest-table main.x
expect_err_contains "a lakehouse table that is read takes no address parameters"

# Bad input: exit 2, saying what is there.
expect_exit 2 ingest --source-uri "lakehouse://$WORK/wh" --source-table raw.nosuch --dest-uri "$out" --dest-table main.x
expect_err_contains "the warehouse $WORK/wh has no table raw.nosuch; it has: raw.big, raw.copy, raw.huge, raw.parts, raw.t"
expect_exit 2 ingest --source-uri "lakehouse://$WORK/wh" --source-table nodot --dest-uri "$out" --dest-table main.x
expect_err_contains "source-table must name a table of the warehouse as namespace.table"
expect_exit 2 ingest --source-uri "lakehouse://$WORK/nowhere" --source-table raw.t --dest-uri "$out" --dest-table main.x
expect_err_contains "there is no lakehouse warehouse at $WORK/nowhere"
expect_exit 2 ingest --source-uri "lakehouse://$WORK/wh" --source-table raw.t --dest-uri "$out" --dest-table main.x \
  --sql-exclude-columns colour
expect_err_contains "colour"
done_ok
