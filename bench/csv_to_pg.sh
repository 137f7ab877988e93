#!/usr/bin/env bash
# CSV -> PostgreSQL: nilus ingest beside psql's `\copy … FROM file (FORMAT csv, HEADER)` into a table
# of the same column types, in the same run, on a throwaway cluster. Median of RUNS runs each;
# rows/s, MB/s, peak RSS, and the speed ratio to psql (above 1: nilus is faster).
#
#   bench/csv_to_pg.sh [ROWS ...]     (default: 1000000)
#
# psql sends the file as it is and the server parses it; nilus reads it twice (type inference
# over the whole file, then the load), converts every value and sends binary COPY, and commits
# state and a load record with the data.
BENCH_POSTGRES=1 source "$(dirname "$0")/lib.sh"
sql "CREATE DATABASE dst" >/dev/null
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000)

printf '%-9s %-22s %8s %11s %7s %9s %9s\n' rows tool seconds rows/s MB/s peakRSS speed/psql
for n in "${sizes[@]}"; do
  csv=$work/orders_$n.csv
  gen_orders_csv "$csv" "$n"
  mb=$(megabytes "$csv")
  # The reference table gets the column types nilus infers.
  sql dst "DROP SCHEMA IF EXISTS ref CASCADE; CREATE SCHEMA ref" >/dev/null
  "$NILUS_BIN" ingest --source-uri "file://$csv" --dest-uri "$PG_URI/dst" --dest-table shape.full --log-level warn >/dev/null
  sql dst "CREATE TABLE ref.orders (LIKE shape.full); ALTER TABLE ref.orders DROP COLUMN _nilus_load_id" >/dev/null
  rm -f "$work"/*.times
  for run in $(seq "$RUNS"); do
    sql dst "TRUNCATE ref.orders" >/dev/null
    timed psql psql -qX -d dst -c "\\copy ref.orders FROM '$csv' (FORMAT csv, HEADER)"
    sql dst "DROP SCHEMA IF EXISTS bench CASCADE" >/dev/null 2>&1
    timed nilus env NILUS_HOME="$work/home$run" "$NILUS_BIN" ingest --source-uri "file://$csv" \
      --dest-uri "$PG_URI/dst" --dest-table bench.orders --log-level warn
  done
  [ "$(sql dst "SELECT count(*) FROM bench.orders")" = "$n" ] || { echo "nilus loaded the wrong count" >&2; exit 1; }
  ref=$(seconds psql)
  for tool in psql nilus; do
    secs=$(seconds "$tool")
    printf '%-9s %-22s %8.2f %11.0f %7.1f %8.1fM %8.2fx\n' "$n" "$tool" "$secs" "$(echo "$n / $secs" | bc -l)" \
      "$(echo "$mb / $secs" | bc -l)" "$(rss_mb "$tool")" "$(echo "$ref / $secs" | bc -l)"
  done
  rm -f "$csv"
done
echo "(speed/psql: psql's time divided by the tool's; peakRSS of psql is the client only)"
