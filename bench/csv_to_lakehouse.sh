#!/usr/bin/env bash
# CSV -> lakehouse (Iceberg of zstd Parquet on local disk): nilus ingest beside DuckDB writing the
# same CSV file to one Parquet file with the same codec (COPY … TO … (FORMAT parquet,
# COMPRESSION zstd)), in the same run. Reports rows/s, MB/s, peak RSS, the speed ratio to DuckDB
# and the bytes each wrote.
#
#   bench/csv_to_lakehouse.sh [ROWS ...]     (default: 1000000; try 1000000 10000000)
#
# DuckDB infers the CSV's types from a sample and writes only data; nilus infers them over the
# whole file, converts every value, writes a load id in every row, and commits Iceberg metadata
# (manifest, manifest list, metadata file, catalog row) with the pipeline's state.
source "$(dirname "$0")/lib.sh"
DUCKDB=$(bash tests/tools/duckdb/ensure.sh)
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000)

clean() { rm -rf "$work/lake" "$work/duck.parquet" "$work/home"; }
bytes_mb() { du -sb "$@" | awk '{ s += $1 } END { printf "%.1f MB", s / 1e6 }'; }

report_header
for n in "${sizes[@]}"; do
  csv=$work/orders_$n.csv
  gen_orders_csv "$csv" "$n"
  mb=$(megabytes "$csv")

  BEFORE_EACH=clean measure duckdb node "$DUCKDB" \
    "COPY (SELECT * FROM read_csv('$csv')) TO '$work/duck.parquet' (FORMAT parquet, COMPRESSION zstd)"
  ref=$SECS
  report "$n" "DuckDB COPY to Parquet (zstd)" "$mb" "$ref" "$(bytes_mb "$work/duck.parquet")"

  BEFORE_EACH=clean NILUS_HOME=$work/home measure nilus "$NILUS" ingest --source-uri "file://$csv" \
    --dest-uri "lakehouse:///$work/lake" --dest-table raw.orders --log-level warn
  got=$(node "$DUCKDB" "SELECT count(*) FROM read_parquet('$work/lake/raw/orders/data/*.parquet')")
  [ "$got" = "$n" ] || { echo "nilus loaded $got rows, expected $n" >&2; exit 1; }
  report "$n" "nilus ingest to lakehouse" "$mb" "$ref" "$(bytes_mb "$work/lake/raw/orders/data") data"

  # Partitioned by the day of created_at (84 days, every batch meets every one of them): DuckDB
  # writes a Hive-partitioned folder, nilus an Iceberg table with a day partition spec.
  BEFORE_EACH=clean measure duckdb_partitioned node "$DUCKDB" \
    "COPY (SELECT *, created_at::date AS day FROM read_csv('$csv')) TO '$work/duck.parquet' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (day))"
  ref=$SECS
  report "$n" "DuckDB COPY partitioned by day" "$mb" "$ref" "$(bytes_mb "$work/duck.parquet")"
  printf 'source:\n  address: file://%s\nsink:\n  address: lakehouse:///%s/lake\n  options:\n    dest-table: raw.orders\n    incremental-strategy: append\n    partition-by: [{column: created_at, type: day}]\n' \
    "$csv" "$work" >"$work/partitioned.yaml"
  BEFORE_EACH=clean NILUS_HOME=$work/home measure nilus_partitioned "$NILUS" run "$work/partitioned.yaml" --log-level warn
  got=$(node "$DUCKDB" "SELECT count(*), count(DISTINCT filename) FROM read_parquet('$work/lake/raw/orders/data/*.parquet', filename = true)")
  [ "$got" = "$n|84" ] || { echo "nilus loaded $got rows|files, expected $n|84" >&2; exit 1; }
  report "$n" "nilus partitioned by day" "$mb" "$ref" "$(bytes_mb "$work/lake/raw/orders/data") data"

  # Sorted (cluster-by customer, amount) beside DuckDB's COPY of the rows in that order.
  BEFORE_EACH=clean measure duckdb_sorted node "$DUCKDB" \
    "COPY (SELECT * FROM read_csv('$csv') ORDER BY customer, amount) TO '$work/duck.parquet' (FORMAT parquet, COMPRESSION zstd)"
  ref=$SECS
  report "$n" "DuckDB COPY … ORDER BY" "$mb" "$ref" "$(bytes_mb "$work/duck.parquet")"
  printf 'source:\n  address: file://%s\nsink:\n  address: lakehouse:///%s/lake\n  options:\n    dest-table: raw.orders\n    incremental-strategy: append\n    cluster-by: [customer, amount]\n' \
    "$csv" "$work" >"$work/sorted.yaml"
  BEFORE_EACH=clean NILUS_HOME=$work/home measure nilus_sorted "$NILUS" run "$work/sorted.yaml" --log-level warn
  got=$(node "$DUCKDB" "SELECT count(*) FROM read_parquet('$work/lake/raw/orders/data/*.parquet')")
  [ "$got" = "$n" ] || { echo "nilus loaded $got rows, expected $n" >&2; exit 1; }
  report "$n" "nilus cluster-by customer, amount" "$mb" "$ref" "$(bytes_mb "$work/lake/raw/orders/data") data"
  rm -f "$csv"
  clean
done
