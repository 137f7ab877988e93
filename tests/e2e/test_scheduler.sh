#!/usr/bin/env bash
# nilus serve --manifests: workflows run on their cron schedules (a seconds field, a time zone,
# endOn), concurrencyPolicy Forbid skips an overlapping run and Replace stops the running one
# (its load rolls back, the new one commits), POST /api/v1/pipelines/{id}/run, manifests
# added, changed and removed while it runs, a bad manifest listed with its error while the
# others run, the scheduler's metrics, and SIGTERM stopping the running pipelines cleanly.
source "$(dirname "$0")/lib.sh"
mkdir m code
printf 'id,name\n1,ann\n2,bob\n' >orders.csv
# custom://SlowSource?rows=N&delay=S: N rows, one every S seconds (a run that takes a while).
cat >code/slow.py <<'PY'
import time
from urllib.parse import parse_qs, urlparse

import nilus


class SlowSource(nilus.CustomSource):
    def nilus_source(self, uri, table, **kwargs):
        q = {k: v[0] for k, v in parse_qs(urlparse(uri).query).items()}

        def rows():
            for i in range(int(q["rows"])):
                time.sleep(float(q["delay"]))
                yield {"id": i}

        return rows()
PY
# workflow FILE NAME SOURCE TABLE [SCHEDULE]: a one-node workflow (node "load") loading SOURCE
# into raw.TABLE of dst.db, replacing it.
workflow() {
  local repo=""
  case $3 in custom://*) repo="repo: {url: \"$WORK/code\"}" ;; esac
  cat >"$1" <<YAML
name: $2
type: workflow
workflow:
  ${5:+schedule: $5}
  dag:
    - name: load
      spec:
        stackSpec:
          source: {address: "$3"}
          sink: {address: "sqlite:///$WORK/dst.db", options: {dest-table: raw.$4, incremental-strategy: replace}}
          $repo
YAML
}
workflow m/every2.yaml every2 "file://$WORK/orders.csv" every2 "{cron: '*/2 * * * * *'}"
workflow m/forbid.yaml forbid "custom://SlowSource?rows=5&delay=0.6" forbid "{cron: '* * * * * *', concurrencyPolicy: Forbid}"
workflow m/replace.yaml replace "custom://SlowSource?rows=6&delay=1" replace "{cron: '0 0 1 1 *', concurrencyPolicy: Replace}"
workflow m/kolkata.yaml kolkata "file://$WORK/orders.csv" kolkata "{cron: '30 6 * * *', timezone: Asia/Kolkata}"
workflow m/ended.yaml ended "file://$WORK/orders.csv" ended "{cron: '* * * * * *', endOn: '2020-01-01T00:00:00Z'}"
workflow m/manual.yaml manual "file://$WORK/orders.csv" manual
printf 'type: workflow\nworkflow: {dag: []}\n' >m/bad.yaml
# doc BLOCK N: the Nth ```BLOCK block of docs/manager.md
doc() { awk -v kind="$1" -v want="$2" '$0 == "```" kind { n++; if (n == want) { on = 1; next } } /^```/ && on { on = 0 } on' "$ROOT/docs/manager.md"; }
# The scheduled workflow of docs/manager.md, reading and writing here.
doc yaml 1 | sed "s|/srv/exports/orders.csv|$WORK/orders.csv|; s|/srv/warehouse.db|$WORK/warehouse.db|" >m/nightly.yaml
grep -q "concurrencyPolicy: Forbid" m/nightly.yaml || fail "no workflow example in docs/manager.md"

TOKEN=sched-token-$RANDOM$RANDOM
PORT=$(free_port)
# nilus serve as docs/manager.md starts it, on this folder and a free port
doc_serve=$(doc sh 4 | grep '^nilus serve --manifests' | sed "s|^nilus ||; s|/etc/nilus/pipelines|$WORK/m|")
[ -n "$doc_serve" ] || fail "no nilus serve --manifests example in docs/manager.md"
# shellcheck disable=SC2086
NILUS_API_TOKEN=$TOKEN "$NILUS_BIN" $doc_serve --listen "127.0.0.1:$PORT" >serve.log 2>&1 &
SERVE=$!
trap 'cp serve.log /tmp/sched-serve.log 2>/dev/null; kill -KILL $SERVE 2>/dev/null || true; pkill -KILL -f "$WORK/m/" || true; rm -rf "$WORK"' EXIT
api() { curl -s -H "Authorization: Bearer $TOKEN" "$@"; }
post() { curl -s -o "$WORK/post" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$1"; }
# json EXPR: evaluates EXPR on the JSON document on stdin (as `d`), printing the result
json() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }
# entry ID EXPR: EXPR on the scheduler's entry of manifest ID (as `e`)
entry() {
  api "http://127.0.0.1:$PORT/api/v1/scheduler" |
    python3 -c "import json, sys; e = [i for i in json.load(sys.stdin)['items'] if i['id'] == '$1'][0]; print($2)"
}
history() { q "$NILUS_HOME/metadata.db" "$1"; }
# wait_until WHAT CMD...: polls CMD until it succeeds (NILUS_TEST_WAIT seconds at most, 300 by default).
wait_until() {
  local what=$1 deadline=$((SECONDS + ${NILUS_TEST_WAIT:-300}))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || { tail -40 serve.log >&2; fail "waited in vain for: $what"; }
    kill -0 "$SERVE" 2>/dev/null || { cat serve.log >&2; fail "nilus serve ended"; }
    sleep 0.2
  done
  CHECKS=$((CHECKS + 1))
}
successes() { history "SELECT count(*) FROM runs_info WHERE dataos_resource_id = '$1' AND is_success = 1"; }
at_least() { [ "$("${@:2}")" -ge "$1" ]; }

# --- Cron with a seconds field: every two seconds, on time ----------------------------------------
wait_until "three runs of every2" at_least 3 successes every2.load
expect_query dst.db "SELECT id, name FROM raw__every2 ORDER BY id" "1|ann
2|bob"
# The scheduler starts each run at an even second (its log's times, to the millisecond), and
# never two within one period.
grep -E 'every2: started workflow .*schedule' serve.log | cut -c18-23 >starts
[ "$(wc -l <starts)" -ge 3 ] || fail "fewer than three scheduled starts in the log"
python3 - starts <<'PY' || fail "a run of */2 * * * * * started off its second"
import sys
for line in open(sys.argv[1]):
    s = float(line)
    assert int(s) % 2 == 0 and s - int(s) < 1.0, line
PY
CHECKS=$((CHECKS + 1))
history "SELECT started_at FROM runs_info WHERE dataos_resource_id = 'every2.load' ORDER BY started_at" >started
python3 - started <<'PY' || fail "two runs of every2 less than a period apart"
import datetime, sys
t = [datetime.datetime.fromisoformat(l.strip().replace("Z", "+00:00")) for l in open(sys.argv[1])]
assert all((b - a).total_seconds() > 1.0 for a, b in zip(t, t[1:])), t
PY
CHECKS=$((CHECKS + 1))

# --- Time zone and endOn: the next run as an independent clock computes it --------------------------
expected=$(python3 -c "
import datetime, zoneinfo
z = zoneinfo.ZoneInfo('Asia/Kolkata')
now = datetime.datetime.now(z)
t = now.replace(hour=6, minute=30, second=0, microsecond=0)
if t <= now: t += datetime.timedelta(days=1)
print(t.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'))")
expect_output "kolkata's next run" "$expected scheduled Asia/Kolkata" entry kolkata "e['next_run_at'], e['state'], e['schedule']['timezone']"
expect_output "a schedule past its endOn" "ended None 0" entry ended "e['state'], e['next_run_at'], e['runs_started']"
expect_output "a bad manifest" "invalid True" entry bad "e['state'], 'a workflow needs workflow.dag' in e['error']"
expect_output "a manifest without a schedule" "idle None" entry manual "e['state'], e['next_run_at']"
expect_output "the documented workflow" "scheduled Europe/Berlin Forbid 2027-12-31T23:59:59Z" entry nightly-orders \
  "e['state'], e['schedule']['timezone'], e['schedule']['concurrency_policy'], e['schedule']['end_on']"

# --- Forbid: a run of about 3 s every second never overlaps the one before ---------------------------
wait_until "three runs of forbid" at_least 3 successes forbid.load
wait_until "skipped runs of forbid" at_least 3 entry forbid "e['runs_skipped']"
history "SELECT started_at, finished_at FROM runs_info WHERE dataos_resource_id = 'forbid.load' ORDER BY started_at" >forbid
python3 - forbid <<'PY' || fail "two runs of a Forbid workflow overlapped"
import sys
runs = [l.strip().split("|") for l in open(sys.argv[1])]
assert all(b[0] >= a[1] for a, b in zip(runs, runs[1:])), runs
PY
CHECKS=$((CHECKS + 1))
expect_query dst.db "SELECT count(*), min(id), max(id) FROM raw__forbid" "5|0|4"

# --- POST /api/v1/pipelines/{id}/run ---------------------------------------------------------------
expect_output "a manual run" 202 post /api/v1/pipelines/manual/run
expect_output "the started run" "manual api" json "d['id'], d['trigger']" <post
wait_until "the manual run" at_least 1 successes manual.load
expect_query dst.db "SELECT count(*) FROM raw__manual" "2"
expect_output "a DAG node by its pipeline name" 202 post /api/v1/pipelines/every2.load/run
# the documented request, as written (its server is this one)
doc_post=$(doc sh 5 | grep '^curl' | sed "s/127.0.0.1:9010/127.0.0.1:$PORT/")
expect_output "the documented request" "nightly-orders api" bash -c "NILUS_API_TOKEN=$TOKEN; $doc_post | python3 -c 'import json,sys; d = json.load(sys.stdin); print(d[\"id\"], d[\"trigger\"])'"
wait_until "the documented workflow's run" at_least 1 successes nightly-orders.orders
expect_query warehouse.db "SELECT id, name FROM raw__orders ORDER BY id" "1|ann
2|bob"
expect_output "an unknown pipeline" 404 post /api/v1/pipelines/nosuch/run
expect_output "a bad manifest" 409 post /api/v1/pipelines/bad/run
expect_output "its error" True json "'a workflow needs workflow.dag' in d['error']" <post
expect_output "no token" 401 curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/api/v1/pipelines/manual/run"
expect_output "Forbid while running" 409 sh -c "until [ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' http://127.0.0.1:$PORT/api/v1/scheduler | python3 -c \"import json,sys; print([i for i in json.load(sys.stdin)['items'] if i['id']=='forbid'][0]['state'])\")\" = running ]; do sleep 0.1; done; curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Authorization: Bearer $TOKEN' http://127.0.0.1:$PORT/api/v1/pipelines/forbid/run"

# --- Replace: the running load is stopped and rolls back; the new one commits ------------------------
expect_output "a first run" 202 post /api/v1/pipelines/replace/run
first=$(json "d['pid']" <post)
wait_until "the first run to read rows" grep -q "pipeline replace.load: custom://SlowSource" serve.log
expect_output "a second run" 202 post /api/v1/pipelines/replace/run
expect_output "replacing the first" "starting [$first]" json "d['state'], d['replaces']" <post
wait_until "the replacing run" at_least 1 successes replace.load
expect_query dst.db "SELECT count(*), max(id) FROM raw__replace" "6|5"
expect_output "the replaced run, then the new one" "0|cancelled
1|" history "SELECT is_success, json_extract(error, '\$.code') FROM runs_info WHERE dataos_resource_id = 'replace.load' ORDER BY id"
expect_output "the new run started after the replaced one ended" 1 history "SELECT b.started_at >= a.finished_at FROM runs_info a, runs_info b WHERE a.dataos_resource_id = 'replace.load' AND b.dataos_resource_id = 'replace.load' AND a.id < b.id"
expect_output "counted" "1 2" entry replace "e['runs_replaced'], e['runs_started']"

# --- A run killed from outside cannot record itself: the scheduler records it ---------------------
reads() { grep -c "pipeline replace.load: custom://SlowSource" serve.log; }
before=$(reads)
expect_output "a run to kill" 202 post /api/v1/pipelines/replace/run
victim=$(json "d['pid']" <post)
wait_until "the run to read rows" at_least $((before + 1)) reads
kill -KILL "$victim"
killed_runs() { history "SELECT count(*) FROM runs_info WHERE dataos_resource_id = 'replace.load' AND json_extract(error, '\$.code') = 'killed'"; }
wait_until "the killed run in the history" at_least 1 killed_runs
expect_output "its error" "1|0" history "SELECT instr(json_extract(error, '\$.message'), 'signal 9') > 0, is_success FROM runs_info WHERE json_extract(error, '\$.code') = 'killed'"
expect_query dst.db "SELECT count(*) FROM raw__replace" "6"

# --- Manifests added, changed and removed while it runs ----------------------------------------------
workflow m/added.yaml added "file://$WORK/orders.csv" added "{cron: '*/2 * * * * *'}"
wait_until "a run of the added manifest" at_least 1 successes added.load
workflow m/added.yaml added "file://$WORK/orders.csv" added_again "{cron: '*/2 * * * * *'}"
wait_until "a run of the changed manifest into its new table" q dst.db "SELECT 1 FROM raw__added_again"
rm m/added.yaml
wait_until "the removed manifest to go" sh -c "! curl -s -H 'Authorization: Bearer $TOKEN' http://127.0.0.1:$PORT/api/v1/scheduler | grep -q added.yaml"
before=$(successes added.load)
sleep 3
expect_output "no run after removal" "$before" successes added.load

# --- Metrics ------------------------------------------------------------------------------------------
api "http://127.0.0.1:$PORT/metrics" >metrics
for m in 'nilus_manager_runs_started_total{manifest="every2"}' 'nilus_manager_runs_skipped_total{manifest="forbid"}' \
  'nilus_manager_runs_replaced_total{manifest="replace"} 1' 'nilus_manager_invalid_manifests 1' \
  'nilus_manager_next_run_timestamp_seconds{manifest="kolkata"}'; do
  grep -qF "$m" metrics || fail "/metrics lacks $m"
  CHECKS=$((CHECKS + 1))
done

# --- SIGTERM stops the running pipelines: their loads roll back ---------------------------------------
rm m/every2.yaml m/forbid.yaml
before=$(reads)
expect_output "a run to stop" 202 post /api/v1/pipelines/replace/run
running=$(json "d['pid']" <post)
wait_until "the run to read rows" at_least $((before + 1)) reads
kill -TERM $SERVE
set +e
wait $SERVE
rc=$?
set -e
[ "$rc" = 0 ] || { cat serve.log >&2; fail "nilus serve exited $rc after SIGTERM"; }
CHECKS=$((CHECKS + 1))
if kill -0 "$running" 2>/dev/null; then fail "the run (pid $running) outlived nilus serve"; fi
CHECKS=$((CHECKS + 1))
expect_output "the stopped run" "0|cancelled" history "SELECT is_success, json_extract(error, '\$.code') FROM runs_info WHERE dataos_resource_id = 'replace.load' ORDER BY id DESC LIMIT 1"
expect_query dst.db "SELECT count(*) FROM raw__replace" "6"
grep -q "every pipeline has stopped" serve.log || fail "the scheduler did not say it stopped its pipelines"
CHECKS=$((CHECKS + 1))
if grep -qF "$TOKEN" serve.log; then fail "the token is in the log"; fi
CHECKS=$((CHECKS + 1))

# --- A folder that is not one -----------------------------------------------------------------------
expect_exit 2 serve --listen "127.0.0.1:$(free_port)" --manifests "$WORK/nothing"
expect_err_contains "--manifests $WORK/nothing: not a folder"
done_ok
