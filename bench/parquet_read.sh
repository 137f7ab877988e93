#!/usr/bin/env bash
# Parquet and the lakehouse as sources: a Parquet file DuckDB wrote (snappy, its default) read
# by nilus into the lakehouse (zstd Parquet), and that lakehouse table read by nilus into a
# second one, beside DuckDB copying the same file to zstd Parquet (COPY (SELECT * FROM …) TO …
# (FORMAT parquet, COMPRESSION zstd)), in the same run. Reports rows/s, MB/s (of the source
# file), peak RSS and the speed ratio to DuckDB.
#
#   bench/parquet_read.sh [ROWS ...]     (default: 1000000; try 1000000 10000000)
#
# Both nilus runs read and write: the lakehouse run also adds a load id to every row and commits
# Iceberg metadata with the pipeline's state.
source "$(dirname "$0")/lib.sh"
DUCKDB=$(bash tests/tools/duckdb/ensure.sh)
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000)

clean() { rm -rf "$work/lake" "$work/lake2" "$work/duck.parquet" "$work/home"; }

report_header
for n in "${sizes[@]}"; do
  csv=$work/orders_$n.csv
  src=$work/orders_$n.parquet
  gen_orders_csv "$csv" "$n"
  node "$DUCKDB" "COPY (SELECT * FROM read_csv('$csv')) TO '$src' (FORMAT parquet)" >/dev/null
  rm -f "$csv"
  mb=$(megabytes "$src")

  BEFORE_EACH=clean measure duckdb node "$DUCKDB" \
    "COPY (SELECT * FROM read_parquet('$src')) TO '$work/duck.parquet' (FORMAT parquet, COMPRESSION zstd)"
  ref=$SECS
  report "$n" "DuckDB Parquet to Parquet (zstd)" "$mb" "$ref"

  BEFORE_EACH=clean NILUS_HOME=$work/home measure nilus_parquet "$NILUS" ingest --source-uri "parquet://$src" \
    --dest-uri "lakehouse:///$work/lake" --dest-table raw.orders --log-level warn
  got=$(node "$DUCKDB" "SELECT count(*) FROM read_parquet('$work/lake/raw/orders/data/*.parquet')")
  [ "$got" = "$n" ] || { echo "nilus loaded $got rows, expected $n" >&2; exit 1; }
  report "$n" "nilus Parquet file to lakehouse" "$mb" "$ref"

  # The table the last run left, read back into another warehouse.
  rm -rf "$work/lake2"
  NILUS_HOME=$work/home "$NILUS" ingest --source-uri "parquet://$src" --dest-uri "lakehouse:///$work/lake" \
    --dest-table raw.orders --log-level warn >/dev/null 2>&1
  BEFORE_EACH="rm -rf $work/lake2 $work/home2" NILUS_HOME=$work/home2 measure nilus_lakehouse "$NILUS" ingest \
    --source-uri "lakehouse:///$work/lake" --source-table raw.orders --dest-uri "lakehouse:///$work/lake2" \
    --dest-table raw.orders --log-level warn
  got=$(node "$DUCKDB" "SELECT count(*) FROM read_parquet('$work/lake2/raw/orders/data/*.parquet')")
  [ "$got" = "$n" ] || { echo "nilus read $got rows from the lakehouse, expected $n" >&2; exit 1; }
  report "$n" "nilus lakehouse to lakehouse" "$mb" "$ref"
  clean
  rm -f "$src"
done
