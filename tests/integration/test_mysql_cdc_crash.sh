#!/usr/bin/env bash
# Exactly-once change data capture from MariaDB under SIGKILL: sysbench oltp_write_only writes
# while two pipelines capture its tables (a mirror in SQLite, a change log in PostgreSQL) and are
# killed at random moments, the first time during the snapshot; the binary log rotates on the
# way. After they catch up, every mirror table equals its source and the change log holds every
# change once.
source "$(dirname "$0")/pg_lib.sh"
source "$(dirname "$0")/my_lib.sh"
pg_start
my_start
sql "CREATE DATABASE replica" >/dev/null
mysql_sql "" "CREATE DATABASE shop"
bench() {
  sysbench oltp_write_only --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$MYPORT" --mysql-user=app \
    --mysql-password=app-secret-pw --mysql-db=shop --tables=4 --table-size=50000 "$@"
}
bench prepare >"$WORK/sysbench-prepare.log" 2>&1 || { cat "$WORK/sysbench-prepare.log" >&2; fail "sysbench prepare"; }

options=('table.include.list: "shop\\.sbtest.*"' "topic.prefix: bench" "max.batch.size: 500"
  "heartbeat.interval.ms: 1000")
my_cdc_manifest mirror "sqlite:///$WORK/replica.db" merge replica "${options[@]}"
my_cdc_manifest changelog "$PG_URI/replica" append replica "${options[@]}"

# Killed during the snapshot (200k rows), then restarted.
start_cdc mirror
start_cdc changelog
for _ in $(seq 600); do
  grep -q "snapshot at binary log" "$WORK/mirror.log" && grep -q "snapshot at binary log" "$WORK/changelog.log" && break
  sleep 0.1
done
sleep 0.3
kill_cdc mirror
kill_cdc changelog
grep -q "snapshot at binary log" "$WORK/mirror.log" || fail "the first run did not reach the snapshot"

bench --threads=4 --time=60 --report-interval=0 run >"$WORK/sysbench.log" 2>&1 &
BENCH=$!
( sleep 20; mysql_sql "" "FLUSH BINARY LOGS" ) &
start_cdc mirror
start_cdc changelog
kill_while "$BENCH" mirror changelog
wait "$BENCH" || { cat "$WORK/sysbench.log" >&2; fail "sysbench failed"; }
echo "killed and restarted $KILLS times during the workload"
[ "$KILLS" -ge 20 ] || fail "only $KILLS kills"
wait_for "the change log's snapshot to end" \
  '[ "$(sql replica "SELECT state::json->'"'source'"'->>'"'snapshot'"' FROM replica._nilus_state")" = done ]'
# Once the change log streams, more transactions make sure the stream is checked too.
bench --threads=2 --events=500 --time=0 run >>"$WORK/sysbench.log" 2>&1 || { cat "$WORK/sysbench.log" >&2; fail "sysbench"; }

source_rows() { mysql_sql shop "SELECT id, k, c, pad FROM $1 ORDER BY id" | md5sum; }
mirror_rows() { sqlite3 -separator $'\t' "$WORK/replica.db" "SELECT id, k, c, pad FROM replica__bench_shop_$1 ORDER BY id" 2>/dev/null | md5sum; }
log_rows() {
  psql -qXAt -F $'\t' -d replica -c "SELECT id, k, c, pad FROM (SELECT DISTINCT ON (id) id, k, c, pad, _cdc_op
    FROM replica.bench_shop_$1 ORDER BY id, _cdc_commit_lsn DESC, _cdc_seq DESC) last WHERE _cdc_op <> 'd'
    ORDER BY id" 2>/dev/null | md5sum
}
mirror_matches() {
  for t in sbtest1 sbtest2 sbtest3 sbtest4; do [ "$(source_rows $t)" = "$(mirror_rows $t)" ] || return 1; done
}
wait_for "every mirror table to match its source" mirror_matches
CHECKS=$((CHECKS + 1))
# The change log replayed (the last change of each key, deletes dropped) is the source too.
log_matches() {
  for t in sbtest1 sbtest2 sbtest3 sbtest4; do [ "$(source_rows $t)" = "$(log_rows $t)" ] || return 1; done
}
wait_for "the change log to replay to the source" log_matches
CHECKS=$((CHECKS + 1))
stop_cdc mirror
stop_cdc changelog

# Every change once, and enough of them streamed.
for t in sbtest1 sbtest2 sbtest3 sbtest4; do
  expect_sql replica "SELECT count(*) FROM (SELECT _cdc_commit_lsn, _cdc_seq FROM replica.bench_shop_$t
    WHERE _cdc_op <> 'r' GROUP BY 1, 2 HAVING count(*) > 1) d" 0
done
streamed=$(sql replica "SELECT count(*) FROM replica.bench_shop_sbtest1 WHERE _cdc_op <> 'r'")
[ "$streamed" -ge 1000 ] || fail "only $streamed changes of sbtest1 streamed"
echo "$streamed changes of sbtest1 streamed into the change log"
[ "$(mysql_sql "" "SHOW BINARY LOGS" | wc -l)" -ge 2 ] || fail "the binary log did not rotate"
done_ok
