#!/usr/bin/env bash
# Change data capture into the lakehouse, exactly once under SIGKILL: pgbench writes while two
# pipelines capture its tables into Iceberg tables — a mirror (merged by primary key with
# equality and position deletes) and a change log (appended) — and are killed at random
# moments. After they catch up, the mirror read along the Iceberg specification (python3-avro
# for the metadata, DuckDB for the rows, deletes applied) equals the source, and the change log
# holds every change once.
source "$(dirname "$0")/pg_lib.sh"
DUCKDB=$(bash "$ROOT/tests/tools/duckdb/ensure.sh")
pg_start
PGBENCH=$PG_BIN/pgbench

sql "CREATE DATABASE shop"
"$PGBENCH" -q -i -s 1 shop >"$WORK/pgbench-init.log" 2>&1 || { cat "$WORK/pgbench-init.log" >&2; fail "pgbench -i"; }
sql shop "ALTER TABLE pgbench_history REPLICA IDENTITY FULL"
sql shop "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, 1, 0, now())"

options=("topic.prefix: bench" "max.batch.size: 500" "heartbeat.interval.ms: 1000")
cdc_manifest mirror "lakehouse://$WORK/mirror" merge replica "${options[@]}" \
  'table.include.list: "public\\.pgbench_(accounts|tellers|branches)"'
# The mirror compacts a table once it has 8 equality delete files (64 by default: fewer commits
# would reach that on a slow machine).
echo "        compact-delete-files: 8" >>"$WORK/mirror.yaml"
cdc_manifest changelog "lakehouse://$WORK/log" append replica "${options[@]}" 'table.include.list: "public\\.pgbench_.*"'
cdc_manifest keyless "lakehouse://$WORK/keyless" merge replica "${options[@]}" 'table.include.list: "public\\.pgbench_history"'

# A keyless table cannot be mirrored into the lakehouse (an equality delete would take every
# equal row): refused with what to do.
expect_exit 2 run "$WORK/keyless.yaml"
expect_err_contains "the lakehouse merges by a primary key"

# scan WAREHOUSE TABLE: DuckDB SQL for the table's rows, deletes applied.
scan() {
  /usr/bin/python3 -W ignore "$ROOT/tests/tools/iceberg_read.py" "$WORK/$1/catalog.db" replica "$2" |
    /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin).get('scan', 'SELECT 1 WHERE false'))"
}
duck() { node "$DUCKDB" "$1" || echo "DuckDB failed: $1 ($RANDOM)"; }
digest="md5(coalesce(string_agg(COLS, chr(10) ORDER BY KEY), ''))"
source_digest() { local d=${digest//COLS/$2}; sql shop "SELECT ${d//KEY/$3} FROM $1"; }
mirror_digest() {
  local d=${digest//COLS/$2} from
  from=$(scan mirror "bench_public_$1") || return 1
  duck "SELECT ${d//KEY/$3} FROM ($from) t"
}
matches() { [ "$(source_digest "$1" "$2" "$3")" = "$(mirror_digest "$1" "$2" "$3")" ]; }
mirror_matches() {
  matches pgbench_accounts "aid || '|' || bid || '|' || abalance" aid &&
    matches pgbench_tellers "tid || '|' || bid || '|' || tbalance" tid &&
    matches pgbench_branches "bid || '|' || bbalance" bid
}
snapshot_done() { [ "$(sqlite3 "$WORK/$1/catalog.db" "SELECT state FROM _nilus_state" 2>/dev/null | grep -c '"snapshot":"done"')" = 1 ]; }

start_cdc mirror
start_cdc changelog
wait_for "the mirror's snapshot" "snapshot_done mirror"
wait_for "the change log's snapshot" "snapshot_done log"
wait_for "the snapshot in the mirror" mirror_matches

"$PGBENCH" -n -c 2 -T 30 shop >"$WORK/pgbench.log" 2>&1 &
BENCH=$!
kill_while "$BENCH" mirror changelog
wait "$BENCH" || { cat "$WORK/pgbench.log" >&2; fail "pgbench failed"; }
transactions=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/pgbench.log")
echo "killed and restarted $KILLS times during $transactions transactions"
[ "$KILLS" -ge 8 ] || fail "only $KILLS kills"
[ "$transactions" -ge 500 ] || fail "only $transactions transactions"

wait_for "every mirror table to match its source" mirror_matches
log_count() {
  local from
  from=$(scan log "bench_public_$1") || return 1
  duck "SELECT count(*) FROM ($from) t WHERE _cdc_op IN ($2)"
}
wait_for "the change log to catch up" '[ "$(log_count pgbench_history "'"'c'"'")" = "$transactions" ]'
CHECKS=$((CHECKS + 2))

# Every change once: each pgbench transaction updated one account, teller and branch.
for t in accounts tellers branches; do
  [ "$(log_count "pgbench_$t" "'u'")" = "$transactions" ] || fail "pgbench_$t: $(log_count "pgbench_$t" "'u'") updates in the change log for $transactions transactions"
  from=$(scan log "bench_public_pgbench_$t")
  [ "$(duck "SELECT count(*) FROM (SELECT _cdc_commit_lsn, _cdc_seq FROM ($from) t WHERE _cdc_op <> 'r' GROUP BY 1, 2 HAVING count(*) > 1)")" = 0 ] ||
    fail "pgbench_$t: a change twice in the change log"
  CHECKS=$((CHECKS + 2))
done
# The mirror's commits write deletes: position deletes (a key changed twice in one commit) and
# equality deletes (a key changed again in a later commit), and compact its tables while they
# are killed (the branches' deletes are more than 20% of their rows at every commit; the
# accounts' at 8 equality delete files): the compacted mirror is the one that matched the source
# above.
grep -q "bench_public_pgbench_branches: compacted" "$WORK/mirror.log" || fail "the mirror's branches were never compacted"
grep -q "bench_public_pgbench_accounts: compacted" "$WORK/mirror.log" || fail "the mirror's accounts were never compacted"
CHECKS=$((CHECKS + 2))
kill_cdc mirror
kill_cdc changelog
done_ok
