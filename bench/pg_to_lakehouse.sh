#!/usr/bin/env bash
# PostgreSQL -> lakehouse (Iceberg of zstd Parquet on local disk): nilus beside the limit of
# reading the table (COPY … TO STDOUT into /dev/null) and beside DuckDB turning the same COPY
# stream into one zstd Parquet file, in the same run, on a throwaway cluster. Median of RUNS
# runs each; rows/s, MB/s, peak RSS, ratio to the read limit, bytes written.
#
#   bench/pg_to_lakehouse.sh [ROWS ...]     (default: 1000000; try 1000000 10000000)
#
# (a) read:   psql COPY wide TO STDOUT (FORMAT binary) > /dev/null
# (b) duckdb: psql COPY wide TO STDOUT (FORMAT csv) | DuckDB COPY (read_csv) TO … (FORMAT parquet,
#     COMPRESSION zstd): a peer that writes Parquet from the same stream (its types inferred)
# (c) nilus ingest, the default extract-parallelism, into an Iceberg table (types kept, a load id
#     in every row, manifests, metadata, the catalog and the state committed)
BENCH_POSTGRES=1 source "$(dirname "$0")/lib.sh"
DUCKDB=$(bash "$BENCH_DIR/../tests/tools/duckdb/ensure.sh")
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000)
bytes_mb() { du -sb "$@" | awk '{ s += $1 } END { printf "%.1f", s / 1e6 }'; }

printf '%-10s %-8s %9s %12s %8s %9s %8s %9s\n' rows tool seconds rows/s MB/s peakRSS read/x writtenMB
for n in "${sizes[@]}"; do
  sql "DROP DATABASE IF EXISTS src" >/dev/null 2>&1
  sql "CREATE DATABASE src" >/dev/null
  make_wide src "$n"
  sql src "VACUUM ANALYZE wide" >/dev/null
  mb=$(sql src "SELECT round(pg_table_size('wide') / 1e6, 1)")
  rm -f "$work"/*.times
  for _ in $(seq "$RUNS"); do
    timed read bash -c "psql -qX -d src -c 'COPY wide TO STDOUT (FORMAT binary)' >/dev/null"
    rm -f "$work/duck.parquet"
    timed duckdb bash -c "psql -qX -d src -c 'COPY wide TO STDOUT (FORMAT csv, HEADER)' | node '$DUCKDB' \
      \"COPY (SELECT * FROM read_csv('/dev/stdin')) TO '$work/duck.parquet' (FORMAT parquet, COMPRESSION zstd)\""
    rm -rf "$work/lake" "$work/home"
    NILUS_HOME=$work/home timed nilus "$NILUS_BIN" ingest --source-uri "$PG_URI/src" --source-table public.wide \
      --dest-uri "lakehouse://$work/lake" --dest-table raw.wide --log-level warn
  done
  got=$(node "$DUCKDB" "SELECT count(*), sum(id) FROM read_parquet('$work/lake/raw/wide/data/*.parquet')")
  [ "$got" = "$n|$((n * (n + 1) / 2))" ] || { echo "nilus wrote $got, expected $n rows" >&2; exit 1; }
  read_secs=$(seconds read)
  for tool in read duckdb nilus; do
    secs=$(seconds "$tool")
    case $tool in
      read) written=- ;;
      duckdb) written=$(bytes_mb "$work/duck.parquet") ;;
      nilus) written=$(bytes_mb "$work/lake/raw/wide/data") ;;
    esac
    printf '%-10s %-8s %9.2f %12.0f %8.1f %8.1fM %8.2f %9s\n' "$n" "$tool" "$secs" "$(echo "$n / $secs" | bc -l)" \
      "$(echo "$mb / $secs" | bc -l)" "$(rss_mb "$tool")" "$(echo "$read_secs / $secs" | bc -l)" "$written"
  done
done
echo "(MB/s: of the table's size in PostgreSQL; read/x: the read limit's time divided by the tool's)"
