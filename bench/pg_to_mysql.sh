#!/usr/bin/env bash
# PostgreSQL -> MariaDB: nilus beside the pipe of the two command-line clients (the reference;
# no peer tool here loads MySQL from PostgreSQL). Median of RUNS runs each; rows/s, peak RSS,
# speed relative to the pipe.
#
#   bench/pg_to_mysql.sh [SCALE]      (pgbench scale; default 20 = 2M accounts)
#
# (a) pipe:  psql COPY pgbench_accounts TO STDOUT | mariadb LOAD DATA LOCAL INFILE '/dev/stdin'
#            into a table that exists, with the same columns
# (b) pipe_id: the same pipe into the table nilus makes (int columns, filler as longtext, and the
#     load id nilus writes in every row): the limit for a load that records which load wrote a row
# (c) nilus ingest into a new table each run
BENCH_POSTGRES=1 source "$(dirname "$0")/lib.sh"
source "$BENCH_DIR/../tests/integration/my_lib.sh"
my_start
scale=${1:-20}
sql "CREATE DATABASE src" >/dev/null
pgbench -q -i -s "$scale" -I dtg src >/dev/null 2>&1
sql src "VACUUM ANALYZE pgbench_accounts" >/dev/null
n=$(sql src "SELECT count(*) FROM pgbench_accounts")
mb=$(sql src "SELECT round(pg_table_size('pgbench_accounts') / 1e6, 1)")
mysql_sql "CREATE DATABASE pipe; CREATE TABLE pipe.pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int,
  filler char(84)) ENGINE = InnoDB;
  CREATE TABLE pipe.with_id (aid int, bid int, abalance int, filler longtext, _nilus_load_id varchar(64) NOT NULL)
  ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin"
empty_pipe_table() { mysql_sql "TRUNCATE pipe.pgbench_accounts; TRUNCATE pipe.with_id"; }
drop_nilus_database() { mysql_sql "DROP DATABASE IF EXISTS bench"; }

report_header
BEFORE_EACH=empty_pipe_table
measure pipe bash -c "psql -qX -d src -c 'COPY pgbench_accounts TO STDOUT' | mariadb --no-defaults \
  --socket='$MY_SOCKET' -uroot --local-infile=1 pipe -e \"LOAD DATA LOCAL INFILE '/dev/stdin' INTO TABLE pgbench_accounts\""
pipe_secs=$SECS
report "$n" "pipe (psql | mariadb LOAD DATA)" "$mb" "$pipe_secs"
measure pipe_id bash -c "psql -qX -d src -c \"COPY (SELECT *, '20261130T162536.697299Z.e4cf' FROM pgbench_accounts) \
  TO STDOUT\" | mariadb --no-defaults --socket='$MY_SOCKET' -uroot --local-infile=1 pipe \
  -e \"LOAD DATA LOCAL INFILE '/dev/stdin' INTO TABLE with_id\""
report "$n" "pipe_id (nilus's table, load id)" "$mb" "$pipe_secs"
BEFORE_EACH=drop_nilus_database
measure nilus "$NILUS_BIN" ingest --source-uri "$PG_URI/src" --source-table public.pgbench_accounts \
  --dest-uri "$MY_URI" --dest-table bench.pgbench_accounts --log-level warn
report "$n" "nilus" "$mb" "$pipe_secs"
[ "$(mysql_sql "SELECT count(*) FROM bench.pgbench_accounts")" = "$n" ] || { echo "nilus loaded a wrong count" >&2; exit 1; }
echo "(speed/ref: the pipe's time divided by the tool's; peakRSS of the pipe is its larger client)"
