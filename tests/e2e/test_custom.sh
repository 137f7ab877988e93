#!/usr/bin/env bash
# Custom connectors in Python (docs/custom-connectors.md): the examples of examples/custom run
# against a local HTTP API (examples/custom/api_server.py), and the connectors of
# tests/e2e/custom check state, failures, retries, repositories, virtualenvs, types and kills.
# The destination is read back with sqlite3; what the webhook received, from the API's log.
source "$(dirname "$0")/lib.sh"
cp -r "$ROOT/examples" "$WORK/examples"
cp -r "$ROOT/tests/e2e/custom" "$WORK/conn"
export OUT_DIR=$WORK/out-dir API_TOKEN=tok-$RANDOM-secret
mkdir -p "$OUT_DIR"

API_PORT=$(free_port)
export API_PORT
python3 examples/custom/api_server.py --port "$API_PORT" --token "$API_TOKEN" --users 25 >api.log 2>&1 &
API_PID=$!
trap 'kill $API_PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do (echo >"/dev/tcp/127.0.0.1/$API_PORT") 2>/dev/null && break; sleep 0.1; done
api() { curl -sf -X "$1" "http://127.0.0.1:$API_PORT$2"; }
# The /users requests of the API's log since mark N, as "page:updated_since" lines.
users_requests() {
  api GET /admin/requests | python3 -c "import json, sys
for r in json.load(sys.stdin)[$1:]:
    if r['path'] == '/users': print(r['query'].get('page'), r['query'].get('updated_since', '-'), sep=':')"
}
requests_so_far() { api GET /admin/requests | python3 -c "import json, sys; print(len(json.load(sys.stdin)))"; }

# --- The example of docs/custom-connectors.md, as written ----------------------------------------
example=$(awk '/^```sh$/ { on = 1; next } /^```/ { on = 0 } on' "$ROOT/docs/custom-connectors.md" | sed 's/\\$//' | tr '\n' ' ')
eval "expect_ok ${example#nilus }"
expect_query hello.db "SELECT id, greeting FROM raw__greetings ORDER BY id" "1|hello 1
2|hello 2
3|hello 3"
expect_query hello.db "SELECT count(DISTINCT _nilus_load_id) FROM raw__greetings" "1"

# --- A REST API, incrementally, over three runs -------------------------------------------------
expect_ok run examples/custom/rest-api.yaml
expect_query "$OUT_DIR/crm.db" "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM crm__users" "25|25|1|25"
expect_query "$OUT_DIR/crm.db" "SELECT name, email, address FROM crm__users WHERE id = 7" \
  'user 7|user7@example.com|{"city":"Oslo","zip":"10007"}'
expect_err_lacks "$API_TOKEN"
first_max=$(q "$OUT_DIR/crm.db" "SELECT max(updated_at) FROM crm__users")
[ "$(users_requests 0)" = "1:-
2:-
3:-" ] || fail "the first run's requests: $(users_requests 0)"
mark=$(requests_so_far)
api POST "/admin/add-users?n=5" >/dev/null
api POST "/admin/touch?id=3" >/dev/null
expect_ok run examples/custom/rest-api.yaml
expect_query "$OUT_DIR/crm.db" "SELECT count(*), count(DISTINCT id), max(id) FROM crm__users" "30|30|30"
# Only what changed was fetched: one page, asked for since the first run's newest update.
since=$(q "$OUT_DIR/crm.db" "SELECT replace(replace('$first_max', ' ', 'T'), '+00:00', 'Z')")
[ "$(users_requests "$mark")" = "1:$since" ] || fail "the second run's requests: $(users_requests "$mark") (since $since)"
expect_query "$OUT_DIR/crm.db" "SELECT updated_at > '$first_max' FROM crm__users WHERE id = 3" "1"
mark=$(requests_so_far)
expect_ok run examples/custom/rest-api.yaml
[ "$(users_requests "$mark" | wc -l)" = 1 ] || fail "the third run's requests: $(users_requests "$mark")"
expect_query "$OUT_DIR/crm.db" "SELECT count(*) FROM crm__users" "30"
expect_query "$OUT_DIR/crm.db" "SELECT rows FROM _nilus_loads WHERE pipeline = 'crm-api.users' ORDER BY finished_at" "25
6
0"
expect_ok state show crm-api.users
grep -q "updated_at" out || fail "state show has no resource state: $(cat out)"

# Transient failures: the API answers 503 twice, the load is retried and completes.
api POST "/admin/add-users?n=2" >/dev/null
api POST "/admin/fail?times=2" >/dev/null
expect_ok run examples/custom/rest-api.yaml
expect_err_contains "503"
expect_err_contains "attempt 2 of 5"
expect_query "$OUT_DIR/crm.db" "SELECT count(*), max(id) FROM crm__users" "32|32"
# the retries are counted for the metrics (nilus_retries_total)
expect_query "$NILUS_HOME/metadata.db" "SELECT retries FROM pipeline_totals WHERE pipeline = 'crm-api.users'" "2"

# --- Two resources, two tables, one load ---------------------------------------------------------
expect_ok run examples/custom/multi.yaml
expect_ok run examples/custom/multi.yaml
expect_query "$OUT_DIR/crm.db" "SELECT count(*) FROM crm__users" "32"
expect_query "$OUT_DIR/crm.db" "SELECT count(*), count(DISTINCT id) FROM crm__activities" "20|20"
expect_query "$OUT_DIR/crm.db" "SELECT table_name, strategy, rows FROM _nilus_loads WHERE pipeline = 'crm.crm'
  ORDER BY finished_at, table_name" "crm.activities|append|10
crm.users|replace|32
crm.activities|append|10
crm.users|replace|32"
expect_query "$OUT_DIR/crm.db" "SELECT count(DISTINCT load_id) FROM _nilus_loads WHERE pipeline = 'crm.crm'" "2"

# --- The random-user example, nested fields unnested ---------------------------------------------
expect_ok run examples/custom/random-users.yaml
expect_query "$OUT_DIR/users.db" "SELECT name__first, location__city, dob__age, typeof(dob__date) FROM raw__fetch_random_users
  ORDER BY email" "Ines|Lyon|42|text
Kofi|Kumasi|36|text
Sigrid|Bergen|46|text"

# --- A webhook destination: batches of 4 rows, and retries --------------------------------------
api POST "/admin/fail?times=2" >/dev/null
expect_ok run examples/custom/webhook.yaml
expect_err_contains "every batch delivered"
api GET /admin/webhook >hook.json
python3 - "$ROOT/examples/data/orders.csv" hook.json <<'PY' || fail "the webhook's rows differ from the file"
import csv, json, sys
sent = json.load(open(sys.argv[2]))
assert [len(b["data"]) for b in sent] == [4, 2], [len(b["data"]) for b in sent]
rows = [r for b in sent for r in b["data"]]
assert {b["table"] for b in sent} == {"orders"}
assert len({r["_nilus_load_id"] for r in rows}) == 1 and rows[0]["_nilus_load_id"] == sent[0]["load_id"]
want = list(csv.DictReader(open(sys.argv[1])))
assert [r["order_id"] for r in rows] == [int(w["order_id"]) for w in want]
assert [r["customer"] for r in rows] == [w["customer"] for w in want]
assert [r["amount"] for r in rows] == [float(w["amount"]) for w in want]
assert all(isinstance(r["paid"], bool) for r in rows)
PY
CHECKS=$((CHECKS + 1))
# The destination holds no state: the local store does, so a second run sends nothing again.
expect_ok run examples/custom/webhook.yaml
[ "$(api GET /admin/webhook | python3 -c "import json, sys; print(len(json.load(sys.stdin)))")" = 2 ] ||
  fail "the second run sent the file again"
expect_ok state show orders-webhook.orders
grep -q "orders.csv" out || fail "the local store has no state for the webhook pipeline: $(cat out)"

# Two runs of one pipeline at once into a destination that holds no state: the second waits for
# the first's lock, then finds the file loaded and sends nothing again.
received() { api GET /admin/webhook | python3 -c "import json, sys; print(sum(len(b['data']) for b in json.load(sys.stdin)))"; }
before=$(received)
sed 's/^name: orders-webhook$/name: orders-webhook-twice/' examples/custom/webhook.yaml >webhook-twice.yaml
"$NILUS_BIN" run webhook-twice.yaml >twice1.out 2>twice1.err &
first=$!
"$NILUS_BIN" run webhook-twice.yaml >twice2.out 2>twice2.err &
second=$!
wait $first || { cat twice1.err >&2; fail "the first of two runs at once failed"; }
wait $second || { cat twice2.err >&2; fail "the second of two runs at once failed"; }
[ "$(($(received) - before))" = 6 ] || fail "two runs at once sent $(($(received) - before)) rows, expected 6"
CHECKS=$((CHECKS + 1))

# --- Every Python value type, with its type ------------------------------------------------------
expect_ok ingest --source-uri custom://TypesSource --python-path conn --dest-uri sqlite:///types.db --dest-table raw.typed
expect_query types.db "SELECT group_concat(name || ' ' || type, ', ') FROM pragma_table_info('raw__typed')" \
  "id BIGINT, flag BOOLEAN, small BIGINT, big DECIMAL_TEXT, ratio DOUBLE, price DECIMAL_TEXT, name TEXT, raw BLOB, day DATE, clock TIME, naive TIMESTAMP, aware TIMESTAMPTZ, uid UUID, doc JSON_TEXT, items JSON_TEXT, color TEXT, utc TIMESTAMPTZ, _nilus_load_id TEXT"
expect_query types.db "SELECT id, flag, small, big, ratio, price, name, hex(raw), day, clock, naive, aware, uid, doc, items,
  color, utc FROM raw__typed" \
  "1|1|-7|1180591620717411303424|0.1|12345.6789|Zoë ✓|00FF6E696C7573|2024-02-29|23:59:58.123456|2024-03-01 12:30:00.0005|2024-03-01 12:30:00+00:00|12345678-1234-5678-1234-567812345678|{\"k\":[1,\"two\",null,{\"three\":3.5}]}|[1,2,3]|red|1969-12-31 23:59:59.999999+00:00"

# pendulum, as nilus.common.pendulum: its datetimes are datetimes, DST-aware.
expect_ok ingest --source-uri custom://PendulumSource --python-path conn --dest-uri sqlite:///pendulum.db --dest-table raw.p
expect_query pendulum.db "SELECT at, day FROM raw__p" "2024-05-06 05:08:09+00:00|2024-01-02"

# --- A failure part way: nothing committed, the state unchanged, a rerun completes ---------------
count() { expect_ok ingest --source-uri "custom://CountingSource?total=$1$2" --python-path conn --page-size 100 \
  --dest-uri sqlite:///count.db --dest-table raw.counted; }
count 250 ""
expect_query count.db "SELECT count(*), max(id) FROM raw__counted" "250|250"
nilus ingest --source-uri "custom://CountingSource?total=1000&fail_at=777" --python-path conn --page-size 100 \
  --dest-uri sqlite:///count.db --dest-table raw.counted
[ "$RC" = 1 ] || fail "a Python exception exited $RC, expected 1"
expect_err_contains "ValueError: boom at row 777"
expect_err_contains "test_connectors.py"
expect_err_contains "Traceback"
expect_err_lacks "$API_TOKEN"
expect_err_contains "generator closed at 777"
expect_query count.db "SELECT count(*), max(id) FROM raw__counted" "250|250"
expect_ok state show raw.counted
grep -q '"next": *251' out || fail "the state moved: $(cat out)"
count 1000 ""
expect_query count.db "SELECT count(*), count(DISTINCT id), max(id) FROM raw__counted" "1000|1000|1000"

# yield-limit: two batches a run, the resource's state where they stop.
expect_ok ingest --source-uri "custom://CountingSource?total=1500" --python-path conn --page-size 100 --yield-limit 2 \
  --dest-uri sqlite:///count.db --dest-table raw.counted
expect_query count.db "SELECT count(*), count(DISTINCT id), max(id) FROM raw__counted" "1200|1200|1200"

# SIGTERM between yields: the generator is closed, nothing of the load committed.
"$NILUS_BIN" ingest --source-uri "custom://CountingSource?total=200000&delay=0.01" --python-path conn --page-size 100 \
  --dest-uri sqlite:///count.db --dest-table raw.counted >term.out 2>term.err &
pid=$!
sleep 2
kill -TERM $pid
set +e
wait $pid
rc=$?
set -e
[ "$rc" = 130 ] || { cat term.err >&2; fail "SIGTERM exited $rc, expected 130"; }
grep -q "generator closed" term.err || { cat term.err >&2; fail "the generator was not closed"; }
expect_query count.db "SELECT count(*) FROM raw__counted" "1200"

# SIGKILL at random moments, then a rerun: every row exactly once.
for delay in 1 2 3; do
  "$NILUS_BIN" ingest --source-uri "custom://CountingSource?total=30000&delay=0.005" --python-path conn \
    --page-size 500 --dest-uri sqlite:///count.db --dest-table raw.counted >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
done
expect_ok ingest --source-uri "custom://CountingSource?total=30000" --python-path conn --page-size 500 \
  --dest-uri sqlite:///count.db --dest-table raw.counted
expect_query count.db "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM raw__counted" "30000|30000|1|30000"

# nilus's own cursor on the rows of a source that does not handle incrementality.
expect_ok ingest --source-uri "custom://PlainSource?n=50" --python-path conn --incremental-key version \
  --dest-uri sqlite:///plain.db --dest-table raw.events
expect_ok ingest --source-uri "custom://PlainSource?n=80" --python-path conn --incremental-key version \
  --dest-uri sqlite:///plain.db --dest-table raw.events
expect_query plain.db "SELECT count(*), count(DISTINCT id), max(id) FROM raw__events" "80|80|80"

# --- A repository at a tag ----------------------------------------------------------------------
mkdir gitrepo
(cd gitrepo && git init -q -b main && mkdir src &&
  printf 'import nilus\nclass TagSource(nilus.CustomSource):\n    def nilus_source(self, uri, table, **kw):\n        return [{"version": 1}]\n' >src/tagged.py &&
  git add . && git -c user.email=t@t -c user.name=t commit -qm v1 && git tag v1 &&
  sed -i 's/"version": 1/"version": 2/' src/tagged.py && git -c user.email=t@t -c user.name=t commit -qam v2)
tag_manifest() {
  cat >tag.yaml <<YAML
source:
  address: custom://TagSource
sink:
  address: sqlite:///tag.db
  options:
    dest-table: raw.tagged
    incremental-strategy: replace
repo:
  url: $1
  syncFlags: ["--ref=$2"]
  baseDir: src
YAML
}
tag_manifest "file://$WORK/gitrepo" v1
expect_ok run tag.yaml
expect_query tag.db "SELECT version FROM raw__tagged" "1"
ls -d "$NILUS_HOME"/repos/gitrepo-* >/dev/null || fail "no clone under \$NILUS_HOME/repos"
tag_manifest "file://$WORK/gitrepo" main
expect_ok run tag.yaml
expect_query tag.db "SELECT version FROM raw__tagged" "2"
tag_manifest "$WORK/gitrepo" v1  # a local repository with a ref is cloned too
expect_ok run tag.yaml
expect_query tag.db "SELECT version FROM raw__tagged" "1"
tag_manifest "file://$WORK/gitrepo" v9
expect_exit 2 run tag.yaml
expect_err_contains "no branch, tag or commit 'v9'"

# --- A virtualenv's packages ----------------------------------------------------------------------
/usr/bin/python3 -m venv --without-pip venv
site=$(echo venv/lib/python3*/site-packages)
echo "ANSWER = 42" >"$site/extra_mod.py"
nilus ingest --source-uri custom://VenvSource --python-path conn --dest-uri sqlite:///venv.db --dest-table raw.answer
[ "$RC" = 1 ] || fail "a missing module exited $RC, expected 1"
expect_err_contains "No module named 'extra_mod'"
VIRTUAL_ENV=$WORK/venv expect_ok ingest --source-uri custom://VenvSource --python-path conn --dest-uri sqlite:///venv.db \
  --dest-table raw.answer
expect_query venv.db "SELECT answer FROM raw__answer" "42"

# --- Bad input ------------------------------------------------------------------------------------
expect_exit 2 ingest --source-uri custom://NoSuchSource --python-path conn --dest-uri sqlite:///x.db --dest-table raw.x
expect_err_contains "no class NoSuchSource"
expect_err_contains "CountingSource"
expect_exit 2 ingest --source-uri custom://Bad/path --python-path conn --dest-uri sqlite:///x.db --dest-table raw.x
expect_err_contains "custom://ClassName"
expect_exit 2 ingest --source-uri custom://TypesSource --python-path nowhere --dest-uri sqlite:///x.db --dest-table raw.x
expect_err_contains "nowhere does not exist"
expect_exit 2 ingest --source-uri custom://TypesSource --python-path conn --dest-uri sqlite:///x.db --dest-table raw.x \
  --batch-size 10
expect_err_contains "batch-size"
printf 'source:\n  address: file://examples/data/orders.csv\nsink:\n  address: sqlite:///x.db\n  options:\n    dest-table: raw.x\n    incremental-strategy: append\nrepo:\n  url: .\n' >norepo.yaml
expect_exit 2 ingest --source-uri file://examples/data/orders.csv --python-path conn --dest-uri sqlite:///x.db \
  --dest-table raw.x
expect_err_contains "--python-path is for custom:// connectors"
expect_exit 2 run norepo.yaml
expect_err_contains "repo: holds the code of custom:// connectors"
printf 'source:\n  address: custom://TypesSource\nsink:\n  address: sqlite:///x.db\n  options:\n    dest-table: raw.x\n    incremental-strategy: append\nrepo:\n  url: .\n  basedir: conn\n' >badrepo.yaml
expect_exit 2 run badrepo.yaml
expect_err_contains "did you mean 'baseDir'"

printf 'name: cdc\ntype: service\nservice:\n  stackSpec:\n    source:\n      address: postgresql://u@127.0.0.1:1/db\n      options: {engine: debezium, table.include.list: public.t, topic.prefix: cdc}\n    sink:\n      address: custom://WebhookDestination\n      options: {dest-table: cdc, incremental-strategy: append}\n' >cdc.yaml
expect_exit 2 validate cdc.yaml
expect_err_contains "change data capture into custom:// is not possible"

echo "custom connectors: $CHECKS checks passed"
