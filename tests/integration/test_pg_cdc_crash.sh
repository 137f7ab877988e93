#!/usr/bin/env bash
# Exactly-once change data capture under SIGKILL: pgbench writes while two pipelines capture
# its tables (a mirror in SQLite, a change log in PostgreSQL) and are killed at random moments,
# the first time during the initial snapshot. After they catch up, every mirror table equals
# its source, and the change log holds every change once.
source "$(dirname "$0")/pg_lib.sh"
pg_start
PGBENCH=$PG_BIN/pgbench

sql "CREATE DATABASE shop"
sql "CREATE DATABASE replica"
"$PGBENCH" -q -i -s 5 shop >"$WORK/pgbench-init.log" 2>&1 || { cat "$WORK/pgbench-init.log" >&2; fail "pgbench -i"; }
# pgbench_history has no key: the mirror finds its rows whole. One row, so that its snapshot
# leaves a trace.
sql shop "ALTER TABLE pgbench_history REPLICA IDENTITY FULL"
sql shop "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, 1, 0, now())"

options=('table.include.list: "public\\.pgbench_.*"' "topic.prefix: bench" "max.batch.size: 500" "heartbeat.interval.ms: 1000")
cdc_manifest mirror "sqlite:///$WORK/replica.db" merge replica "${options[@]}"
cdc_manifest changelog "$PG_URI/replica" append replica "${options[@]}"


# Killed during the snapshot (500k accounts), then restarted.
start_cdc mirror
start_cdc changelog
for _ in $(seq 600); do
  grep -q "created replication slot" "$WORK/mirror.log" && grep -q "created replication slot" "$WORK/changelog.log" && break
  sleep 0.1
done
sleep 0.3
kill_cdc mirror
kill_cdc changelog
grep -q "created replication slot" "$WORK/mirror.log" || fail "the first run did not reach the snapshot"

"$PGBENCH" -n -c 4 -T 60 shop >"$WORK/pgbench.log" 2>&1 &
BENCH=$!
start_cdc mirror
start_cdc changelog
kill_while "$BENCH" mirror changelog
wait "$BENCH" || { cat "$WORK/pgbench.log" >&2; fail "pgbench failed"; }
echo "killed and restarted $KILLS times during the workload"
[ "$KILLS" -ge 20 ] || fail "only $KILLS kills"
# A kill during a snapshot resumes it with the tables it had not loaded, so on a slow machine
# much of the workload may land through snapshots; once the change log streams, more
# transactions make sure the stream is checked too.
for _ in $(seq 1200); do
  [ "$(sql replica "SELECT state::json->'source'->>'snapshot' FROM replica._nilus_state" 2>/dev/null)" = done ] && break
  sleep 0.5
done
"$PGBENCH" -n -c 2 -t 250 shop >>"$WORK/pgbench.log" 2>&1 || { cat "$WORK/pgbench.log" >&2; fail "pgbench failed"; }

source_rows() { sql shop "SELECT $2 FROM $1 ORDER BY $2" | md5sum; }
mirror_rows() { sqlite3 -separator '|' "$WORK/replica.db" "SELECT $2 FROM replica__bench_public_$1 ORDER BY $2" 2>/dev/null | md5sum; }
mirror_matches() {
  [ "$(source_rows pgbench_accounts "aid, bid, abalance")" = "$(mirror_rows pgbench_accounts "aid, bid, abalance")" ] &&
    [ "$(source_rows pgbench_tellers "tid, bid, tbalance")" = "$(mirror_rows pgbench_tellers "tid, bid, tbalance")" ] &&
    [ "$(source_rows pgbench_branches "bid, bbalance")" = "$(mirror_rows pgbench_branches "bid, bbalance")" ] &&
    [ "$(source_rows pgbench_history "tid, bid, aid, delta")" = "$(mirror_rows pgbench_history "tid, bid, aid, delta")" ]
}
history=$(sql shop "SELECT count(*) FROM pgbench_history")
log_count() { sql replica "SELECT count(*) FROM replica.bench_public_$1 WHERE _cdc_op IN ($2)"; }
changelog_caught_up() { [ "$(log_count pgbench_history "'r', 'c'")" = "$history" ]; }
wait_for "every mirror table to match its source" mirror_matches
wait_for "the change log to catch up" changelog_caught_up
CHECKS=$((CHECKS + 2))

# Every change once. Each pgbench transaction updates one account, teller and branch and inserts
# one history row. A table's snapshot holds the transactions that committed before its position
# (_cdc_lsn of its 'r' rows; a snapshot resumed after a kill reads the tables it had not loaded
# at a later position): every transaction after the positions of two tables is in both, once.
streamed=$(log_count pgbench_history "'c'")
[ "$streamed" -ge 500 ] || fail "only $streamed transactions streamed"
for t in accounts tellers branches history; do
  expect_sql replica "SELECT count(*) FROM (SELECT _cdc_commit_lsn, _cdc_seq FROM replica.bench_public_pgbench_$t WHERE _cdc_op <> 'r' GROUP BY 1, 2 HAVING count(*) > 1) d" 0
done
snapshot_at() { echo "(SELECT max(_cdc_lsn) FROM replica.bench_public_pgbench_$1 WHERE _cdc_op = 'r')"; }
for t in accounts tellers branches; do
  from="greatest($(snapshot_at "$t"), $(snapshot_at history))"
  expect_sql replica "SELECT count(*) FROM
      (SELECT _cdc_commit_lsn FROM replica.bench_public_pgbench_$t WHERE _cdc_op = 'u' AND _cdc_commit_lsn >= $from) u
      FULL JOIN (SELECT _cdc_commit_lsn FROM replica.bench_public_pgbench_history WHERE _cdc_op = 'c' AND _cdc_commit_lsn >= $from) h
      USING (_cdc_commit_lsn) WHERE u IS NULL OR h IS NULL" 0
  expect_sql replica "SELECT count(*) >= 500 FROM replica.bench_public_pgbench_$t WHERE _cdc_op = 'u' AND _cdc_commit_lsn >= $from" t
done
expect_sql replica "SELECT count(*) FROM replica.bench_public_pgbench_accounts WHERE _cdc_op = 'r'" 500000
# The last balance of every account in the change log is the source's.
expect_output "the last balances in the change log" "$(source_rows pgbench_accounts "aid, abalance")" \
  sh -c "psql -qXAt -d replica -c \"SELECT DISTINCT ON (aid) aid, abalance FROM replica.bench_public_pgbench_accounts ORDER BY aid, _cdc_commit_lsn DESC, _cdc_seq DESC\" | md5sum"
kill_cdc mirror
kill_cdc changelog
echo "ok: $CHECKS checks"
