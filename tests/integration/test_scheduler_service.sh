#!/usr/bin/env bash
# nilus serve --manifests keeps a service running: a PostgreSQL change-capture service killed
# from outside (SIGKILL) is restarted with a growing backoff and resumes where it committed (every
# change once in its change log), a changed manifest restarts it with the new one, a removed one
# stops it, and SIGTERM stops nilus serve and the service cleanly.
source "$(dirname "$0")/pg_lib.sh"
pg_start

sql "CREATE DATABASE shop"
sql shop "CREATE TABLE orders (id int PRIMARY KEY, amount int)"
sql shop "CREATE TABLE customers (id int PRIMARY KEY, name text)"
sql shop "INSERT INTO orders SELECT g, g FROM generate_series(1, 100) g"
sql shop "INSERT INTO customers VALUES (1, 'ann')"
mkdir "$WORK/m"
cdc_manifest changes "sqlite:///$WORK/log.db" append retail "topic.prefix: cdc" "heartbeat.interval.ms: 1000" \
  'table.include.list: "public.orders"'
mv "$WORK/changes.yaml" "$WORK/m/"

PORT=$(free_port)
"$NILUS_BIN" serve --listen "127.0.0.1:$PORT" --manifests "$WORK/m" >"$WORK/serve.log" 2>&1 &
SERVE=$!
entry() {
  curl -s "http://127.0.0.1:$PORT/api/v1/scheduler" |
    python3 -c "import json, sys; e = [i for i in json.load(sys.stdin)['items'] if i['id'] == '$1'][0]; print($2)"
}
running_pid() { entry changes "e['running'][0]['pid'] if e['running'] else 0"; }
# restarted_from PID: a run of the service other than PID is running
restarted_from() {
  local now
  now=$(running_pid) && [ -n "$now" ] && [ "$now" -gt 0 ] && [ "$now" != "$1" ]
}
log_count() { sqlite3 -cmd ".timeout 10000" "$WORK/log.db" "SELECT count(*) FROM retail__cdc_public_orders WHERE _cdc_op = '$1'"; }
insert() {  # FIRST LAST
  sql shop "INSERT INTO orders SELECT g, g FROM generate_series($1, $2) g"
}

wait_for "the snapshot" '[ "$(log_count r)" = 100 ]'
insert 101 200
wait_for "the first changes" '[ "$(log_count c)" = 100 ]'

# Killed from outside: restarted, and nothing lost or repeated of what came while it was down.
first=$(running_pid)
[ "$first" -gt 0 ] || fail "the service is not running"
kill -KILL "$first"
insert 201 300
wait_for "a restart" "restarted_from $first"
expect_output "restarts" True entry changes "e['restarts'] >= 1"

wait_for "the changes made while it was down" '[ "$(log_count c)" = 200 ]'
# Killed twice more: the backoff doubles.
for _ in 1 2; do
  pid=$(running_pid)
  kill -KILL "$pid"
  wait_for "a restart after pid $pid" "restarted_from $pid"
done
grep -q "service changes ended (signal 9 (Killed)); restarting it in 1 s" "$WORK/serve.log" || fail "no first restart in 1 s"
grep -q "restarting it in 2 s" "$WORK/serve.log" || fail "the backoff did not double"
grep -q "restarting it in 4 s" "$WORK/serve.log" || fail "the backoff did not double again"
CHECKS=$((CHECKS + 3))
insert 301 400
wait_for "the changes after the restarts" '[ "$(log_count c)" = 300 ]'
expect_output "every insert once" "300|300|101|400" sqlite3 "$WORK/log.db" \
  "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM retail__cdc_public_orders WHERE _cdc_op = 'c'"
expect_output "no change twice" 0 sqlite3 "$WORK/log.db" \
  "SELECT count(*) FROM (SELECT _cdc_commit_lsn, _cdc_seq FROM retail__cdc_public_orders WHERE _cdc_op <> 'r' GROUP BY 1, 2 HAVING count(*) > 1)"
restarts=$(entry changes "e['restarts']")
[ "$restarts" -ge 3 ] || fail "3 kills, $restarts restarts"
curl -s "http://127.0.0.1:$PORT/metrics" | grep -qF "nilus_manager_service_restarts_total{manifest=\"changes\"} $restarts" ||
  fail "/metrics does not count the restarts"
CHECKS=$((CHECKS + 2))

# The service's progress: its report (every 5 s), the metrics, the committed position and schema.
api_json() { curl -s "http://127.0.0.1:$PORT$1" | python3 -c "import json, sys; d = json.load(sys.stdin); print($2)"; }
pg_lsn=$(sql shop "SELECT pg_current_wal_lsn()")
# (changes_applied counts what each run reported; a run killed loses its last 5 s of counts)
report_ok() {
  [ "$(api_json /api/v1/cdc/status "[(i['state'], i['changes_applied'] > 0, i['lag_bytes'] is not None) for i in d['items'] if i['pipeline'] == 'changes'][0]")" = "('streaming', True, True)" ]
}
wait_for "a report with the changes applied and the log's end" report_ok
CHECKS=$((CHECKS + 1))
curl -s "http://127.0.0.1:$PORT/metrics" >"$WORK/metrics"
for m in 'nilus_cdc_changes_applied_total{pipeline="changes"}' 'nilus_cdc_lag_seconds{pipeline="changes"}' \
  'nilus_cdc_lag_bytes{pipeline="changes"}' 'nilus_cdc_streaming{pipeline="changes"} 1'; do
  grep -qF "$m" "$WORK/metrics" || fail "/metrics lacks $m"
  CHECKS=$((CHECKS + 1))
done
# The committed position reaches past the last insert (the local copy follows within 5 s).
committed_past() {
  local lsn
  lsn=$(api_json /api/v1/cdc/offset-storage "d['items'][0]['position']['lsn']") &&
    [ "$(sql shop "SELECT '$lsn'::pg_lsn >= '$pg_lsn'::pg_lsn")" = t ]
}
wait_for "the committed position past the last insert" committed_past
CHECKS=$((CHECKS + 1))
expect_output "the offset keys" "changes retail.cdc True" api_json /api/v1/cdc/offset-keys \
  "d['items'][0]['pipeline'], d['items'][0]['key'], 'lsn' in d['items'][0]['fields']"
expect_output "the schema history of the captured table" "True True" api_json /api/v1/cdc/schema-history \
  "any(i['table'] == 'cdc_public_orders' for i in d['items']), all(i['version'] >= 1 for i in d['items'])"

# A changed manifest: the service restarts with it (not counted as a failure).
before=$(running_pid)
sql shop "ALTER PUBLICATION changes_pub ADD TABLE customers"  # as nilus asks, for a newly included table
sed -i 's/public.orders"/public.orders,public.customers"/' "$WORK/m/changes.yaml"
wait_for "the restart with the new manifest" "restarted_from $before"
sql shop "INSERT INTO customers VALUES (2, 'bob')"
wait_for "the newly included table" '[ "$(sqlite3 "$WORK/log.db" "SELECT count(*) FROM retail__cdc_public_customers WHERE _cdc_op = '"'c'"'" 2>/dev/null)" = 1 ]'
expect_output "restarts, the same" "$restarts" entry changes "e['restarts']"

# Removed: stopped.
pid=$(running_pid)
rm "$WORK/m/changes.yaml"
wait_for "the service to stop" '! kill -0 '"$pid"
wait_for "the manifest to go" '[ "$(curl -s "http://127.0.0.1:$PORT/api/v1/scheduler" | python3 -c "import json, sys; print(len(json.load(sys.stdin)[\"items\"]))")" = 0 ]'
CHECKS=$((CHECKS + 2))

# Added again, then SIGTERM to nilus serve: the service stops cleanly with it.
cdc_manifest changes "sqlite:///$WORK/log.db" append retail "topic.prefix: cdc" "heartbeat.interval.ms: 1000" \
  'table.include.list: "public.orders,public.customers"'
mv "$WORK/changes.yaml" "$WORK/m/"
wait_for "the service again" "restarted_from 0"
insert 401 450
wait_for "its changes" '[ "$(log_count c)" = 350 ]'
pid=$(running_pid)
kill -TERM $SERVE
wait $SERVE || fail "nilus serve exited $? after SIGTERM"
CHECKS=$((CHECKS + 1))
if kill -0 "$pid" 2>/dev/null; then fail "the service outlived nilus serve"; fi
grep -q "changes: run ended (exit 0)" "$WORK/serve.log" || { tail -20 "$WORK/serve.log" >&2; fail "the service did not stop cleanly"; }
CHECKS=$((CHECKS + 2))
expect_output "every insert once, in the end" "350|350" sqlite3 "$WORK/log.db" \
  "SELECT count(*), count(DISTINCT id) FROM retail__cdc_public_orders WHERE _cdc_op = 'c'"
expect_output "its last report" stopped sqlite3 "$NILUS_HOME/metadata.db" "SELECT state FROM cdc_status WHERE pipeline = 'changes'"
done_ok
