#!/usr/bin/env bash
# MariaDB -> PostgreSQL: nilus beside the pipe of the two command-line clients (the reference)
# and pgloader, in the same run, on throwaway servers. Median of RUNS runs each; rows/s, peak
# RSS, speed relative to the pipe.
#
#   bench/mysql_to_pg.sh [ROWS]       (default 2000000)
#
# Tables: pgbench_accounts (pgbench's shape: aid int key, bid int, abalance int, filler char(84))
# and `wide` (ROWS / 2 rows of the common types: varchar, decimal, int, double, bool, datetime(6),
# timestamp, date, uuid, json).
# (a) pipe:     mariadb --quick --batch -e 'SELECT …' | psql -c '\copy … from stdin'
# (b) pgloader: LOAD DATABASE … INCLUDING ONLY TABLE NAMES MATCHING (creates the table)
# (c) nilus ingest, extract-parallelism 1, (d) 4 (one consistent snapshot, key ranges), and
#     (e) the default (half the machine's cores, at most 5)
BENCH_POSTGRES=1 source "$(dirname "$0")/lib.sh"
source "$BENCH_DIR/../tests/integration/my_lib.sh"
my_start
rows=${1:-2000000}

mysql_sql "CREATE DATABASE shop; USE shop;
CREATE TABLE pgbench_accounts (aid int NOT NULL PRIMARY KEY, bid int, abalance int, filler char(84));
INSERT INTO pgbench_accounts SELECT seq, (seq - 1) DIV 100000 + 1, 0, '' FROM seq_1_to_$rows;
CREATE TABLE wide (id bigint PRIMARY KEY, name varchar(60), email varchar(80), amount decimal(12,2), qty int,
  ratio double, ok bool, created datetime(6), stamp timestamp(6) NULL, day date, ref uuid, tags json);
INSERT INTO wide SELECT seq, concat('customer ', seq), concat('user', seq, '@example.com'), (seq % 100000) / 100,
  seq % 50, seq / 7, seq % 3 = 0, '2024-01-01' + INTERVAL seq SECOND, '2024-01-01' + INTERVAL seq SECOND,
  '2024-01-01' + INTERVAL seq % 365 DAY, uuid(), json_object('k', seq % 10) FROM seq_1_to_$((rows / 2));
ANALYZE TABLE pgbench_accounts, wide;" >/dev/null
sql "CREATE DATABASE dst" >/dev/null
sql dst "CREATE TABLE pgbench_accounts (aid integer PRIMARY KEY, bid integer, abalance integer, filler char(84));
  CREATE TABLE wide (id bigint PRIMARY KEY, name varchar(60), email varchar(80), amount numeric(12,2), qty integer,
  ratio double precision, ok smallint, created timestamp(6), stamp timestamptz(6), day date, ref uuid, tags jsonb)" >/dev/null

# what runs before each measured run (measure's BEFORE_EACH)
empty_target() { sql dst "TRUNCATE $table" >/dev/null; }
drop_pgloader_schema() { sql dst "DROP SCHEMA IF EXISTS shop CASCADE" >/dev/null 2>&1; }
drop_nilus_schema() { sql dst "DROP SCHEMA IF EXISTS bench CASCADE" >/dev/null 2>&1; }

report_header
for table in pgbench_accounts wide; do
  n=$(mysql_sql "SELECT count(*) FROM shop.$table")
  mb=$(mysql_sql "SELECT round(DATA_LENGTH / 1e6, 1) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = '$table'")
  BEFORE_EACH=empty_target
  measure pipe bash -c "mariadb --no-defaults --socket='$MY_SOCKET' -uroot --quick --batch --skip-column-names shop \
    -e 'SELECT * FROM $table' | psql -qX -d dst -c '\\copy $table from stdin'"
  pipe_secs=$SECS
  report "$n" "pipe ($table)" "$mb" "$pipe_secs"
  [ "$(sql dst "SELECT count(*) FROM $table")" = "$n" ] || { echo "the pipe loaded a wrong count" >&2; exit 1; }
  cat >"$work/pgloader.load" <<LOAD
LOAD DATABASE FROM mysql://app:app-secret-pw@127.0.0.1:$MYPORT/shop INTO $PG_URI/dst
  WITH include drop, create tables, no foreign keys, reset sequences
  INCLUDING ONLY TABLE NAMES MATCHING '$table';
LOAD
  BEFORE_EACH=drop_pgloader_schema
  measure pgloader pgloader --quiet "$work/pgloader.load"
  report "$n" "pgloader" "$mb" "$pipe_secs"
  for parallelism in 1 4 default; do
    BEFORE_EACH=drop_nilus_schema
    args=(--extract-parallelism "$parallelism")
    [ "$parallelism" != default ] || args=()
    measure "nilus_$parallelism" "$NILUS_BIN" ingest --source-uri "$MY_URI/shop" --source-table "$table" \
      --dest-uri "$PG_URI/dst" --dest-table "bench.$table" --log-level warn "${args[@]}"
    report "$n" "nilus (extract-parallelism $parallelism)" "$mb" "$pipe_secs"
    [ "$(sql dst "SELECT count(*) FROM bench.$table")" = "$n" ] || { echo "nilus loaded a wrong count" >&2; exit 1; }
  done
done
echo "(speed/ref: the pipe's time divided by the tool's; peakRSS of the pipe is its larger client)"
