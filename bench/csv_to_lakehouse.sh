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

# variant NAME DUCKDB-LABEL DUCKDB-SQL NILUS-LABEL SINK-OPTION FILES: DuckDB's SQL beside a
# nilus pipeline of $csv whose sink has SINK-OPTION; nilus must write $n rows (in FILES files,
# when given).
variant() {
  BEFORE_EACH=clean measure "duckdb_$1" node "$DUCKDB" "$3"
  ref=$SECS
  report "$n" "$2" "$mb" "$ref" "$(bytes_mb "$work/duck.parquet")"
  printf 'source:\n  address: file://%s\nsink:\n  address: lakehouse:///%s/lake\n  options:\n    dest-table: raw.orders\n    incremental-strategy: append\n    %s\n' \
    "$csv" "$work" "$5" >"$work/$1.yaml"
  BEFORE_EACH=clean NILUS_HOME=$work/home measure "nilus_$1" "$NILUS" run "$work/$1.yaml" --log-level warn
  got=$(node "$DUCKDB" "SELECT count(*), count(DISTINCT filename) FROM read_parquet('$work/lake/raw/orders/data/*.parquet', filename = true)")
  [ "${got%|*}" = "$n" ] && { [ -z "$6" ] || [ "${got#*|}" = "$6" ]; } ||
    { echo "nilus loaded $got rows|files, expected $n|${6:-any}" >&2; exit 1; }
  report "$n" "$4" "$mb" "$ref" "$(bytes_mb "$work/lake/raw/orders/data") data"
}

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
  variant partitioned "DuckDB COPY partitioned by day" \
    "COPY (SELECT *, created_at::date AS day FROM read_csv('$csv')) TO '$work/duck.parquet' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (day))" \
    "nilus partitioned by day" "partition-by: [{column: created_at, type: day}]" 84
  # Sorted (cluster-by customer, amount) beside DuckDB's COPY of the rows in that order.
  variant sorted "DuckDB COPY … ORDER BY" \
    "COPY (SELECT * FROM read_csv('$csv') ORDER BY customer, amount) TO '$work/duck.parquet' (FORMAT parquet, COMPRESSION zstd)" \
    "nilus cluster-by customer, amount" "cluster-by: [customer, amount]" ""
  rm -f "$csv"
  clean
done
