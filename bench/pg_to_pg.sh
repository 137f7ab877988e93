#!/usr/bin/env bash
# PostgreSQL -> PostgreSQL: nilus beside the physical limit and pgcopydb, in the same run, on a
# throwaway cluster. Median of RUNS runs each; rows/s, MB/s, peak RSS, ratio to the pipe.
#
#   bench/pg_to_pg.sh [SCALE ...]     (pgbench scale; default 10 = 1M accounts; try 10 50)
#
# (a) pipe:    psql COPY t TO STDOUT (FORMAT binary) | psql COPY t FROM STDIN (FORMAT binary)
# (b) pipe_id:  the same pipe into a table with one more column, the load id nilus writes in every
#     row (_nilus_load_id, 28 characters): the limit for a load that records which load wrote a row
# (c) pgcopydb copy table-data (one table job)
# (d) nilus ingest, extract-parallelism 1, (e) 4 (one exported snapshot, key ranges), and
#     (f) the default (half the machine's cores, at most 5)
BENCH_POSTGRES=1 source "$(dirname "$0")/lib.sh"
scales=("$@")
[ ${#scales[@]} -gt 0 ] || scales=(10)

reset_target() {  # empties the destination tables of the pipes and pgcopydb
  sql dst "TRUNCATE $1, with_id.$1" >/dev/null
}

printf '%-8s %-22s %-14s %9s %12s %8s %9s %8s\n' scale table tool seconds rows/s MB/s peakRSS pipe/x
for scale in "${scales[@]}"; do
  sql "DROP DATABASE IF EXISTS src" >/dev/null 2>&1
  sql "DROP DATABASE IF EXISTS dst" >/dev/null 2>&1
  sql "CREATE DATABASE src" >/dev/null
  sql "CREATE DATABASE dst" >/dev/null
  pgbench -q -i -s "$scale" -I dtg src >/dev/null 2>&1
  rows_wide=$((scale * 100000))
  make_wide src "$rows_wide"
  sql src "VACUUM ANALYZE" >/dev/null
  pg_dump -s -d src | psql -qX -d dst >/dev/null
  sql dst "CREATE SCHEMA with_id; CREATE TABLE with_id.pgbench_accounts (LIKE pgbench_accounts);
    CREATE TABLE with_id.wide (LIKE wide); ALTER TABLE with_id.pgbench_accounts ADD COLUMN _nilus_load_id text;
    ALTER TABLE with_id.wide ADD COLUMN _nilus_load_id text" >/dev/null
  for table in pgbench_accounts wide; do
    rows=$(sql src "SELECT count(*) FROM $table")
    mb=$(sql src "SELECT round(pg_table_size('$table') / 1e6, 1)")
    rm -f "$work"/*.times
    printf '[include-only-table]\npublic.%s\n' "$table" >"$work/filter.ini"
    for _ in $(seq "$RUNS"); do
      reset_target "$table"
      timed pipe bash -c "psql -qX -d src -c 'COPY $table TO STDOUT (FORMAT binary)' | psql -qX -d dst -c 'COPY $table FROM STDIN (FORMAT binary)'"
      reset_target "$table"
      timed pipe_id bash -c "psql -qX -d src -c \"COPY (SELECT *, '20261124T110102.123456Z.3fa2'::text FROM $table) TO STDOUT (FORMAT binary)\" | psql -qX -d dst -c 'COPY with_id.$table FROM STDIN (FORMAT binary)'"
      reset_target "$table"
      timed pgcopydb env PGCOPYDB_SOURCE_PGURI="$PG_URI/src" PGCOPYDB_TARGET_PGURI="$PG_URI/dst" \
        pgcopydb copy table-data --table-jobs 1 --filters "$work/filter.ini" --dir "$work/pgcopydb" \
        --not-consistent --restart
      # nilus: a fresh destination table each run
      sql dst "DROP SCHEMA IF EXISTS bench CASCADE" >/dev/null 2>&1
      timed nilus "$NILUS_BIN" ingest --source-uri "$PG_URI/src" --source-table "public.$table" \
        --dest-uri "$PG_URI/dst" --dest-table "bench.$table" --extract-parallelism 1 --log-level warn
      sql dst "DROP SCHEMA IF EXISTS bench4 CASCADE" >/dev/null 2>&1
      timed nilus_p4 "$NILUS_BIN" ingest --source-uri "$PG_URI/src" --source-table "public.$table" \
        --dest-uri "$PG_URI/dst" --dest-table "bench4.$table" --extract-parallelism 4 --log-level warn
      sql dst "DROP SCHEMA IF EXISTS bench_default CASCADE" >/dev/null 2>&1
      timed nilus_default "$NILUS_BIN" ingest --source-uri "$PG_URI/src" --source-table "public.$table" \
        --dest-uri "$PG_URI/dst" --dest-table "bench_default.$table" --log-level warn
    done
    got=$(sql dst "SELECT count(*) FROM bench.$table")
    [ "$got" = "$rows" ] || { echo "nilus loaded $got of $rows rows" >&2; exit 1; }
    pipe_secs=$(seconds pipe)
    for tool in pipe pipe_id pgcopydb nilus nilus_p4 nilus_default; do
      secs=$(seconds "$tool")
      printf '%-8s %-22s %-14s %9.2f %12.0f %8.1f %8.1fM %8.2f\n' "$scale" "$table" "$tool" "$secs" \
        "$(echo "$rows / $secs" | bc -l)" "$(echo "$mb / $secs" | bc -l)" "$(rss_mb "$tool")" \
        "$(echo "$pipe_secs / $secs" | bc -l)"
    done
  done
done
echo "(pipe/x: the pipe's time divided by the tool's: 1.00 is the physical limit; peakRSS of the pipe is one psql;"
echo " nilus_default uses $(nproc) cores / 2 parts, at least 1 and at most 5)"
