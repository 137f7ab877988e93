#!/usr/bin/env bash
# nilus serve: the Nilus Manager API over a run history of many runs — every endpoint, filters
# and paging, the bearer token (401 without it, compared whole), no non-loopback bind without a
# token, JSON errors, the OpenAPI document, a clean stop on SIGTERM.
source "$(dirname "$0")/lib.sh"
printf 'id,name\n1,ann\n2,bob\n' >orders.csv
workflow() {  # NAME SOURCE: a one-step workflow loading SOURCE into SQLite
  cat >"$1.yaml" <<YAML
name: shop
type: workflow
workflow:
  dag:
    - name: $1
      spec:
        stackSpec:
          source: {address: "$2"}
          sink:
            address: sqlite:///$WORK/dst.db
            options: {dest-table: main.$1, incremental-strategy: replace}
YAML
}
workflow orders "file://$WORK/orders.csv"
workflow broken "file://$WORK/missing.csv"
for _ in 1 2 3 4 5 6 7; do expect_ok run orders.yaml --full-refresh; done
for _ in 1 2 3; do expect_exit 2 run broken.yaml; done

TOKEN=serve-token-$RANDOM$RANDOM
PORT=$(free_port)
NILUS_API_TOKEN=$TOKEN "$NILUS_BIN" serve --listen "127.0.0.1:$PORT" >serve.log 2>&1 &
SERVE=$!
trap 'kill -KILL $SERVE 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do curl -s "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
api() { curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$1" | tee -a responses; }
status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
# json EXPR: evaluates EXPR on the JSON document on stdin (as `d`), printing the result
json() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }

expect_output "health needs no token" '{"status":"ok"}' curl -s "http://127.0.0.1:$PORT/health"
expect_output "no token" 401 status "http://127.0.0.1:$PORT/api/v1/pipelines"
expect_output "a wrong token" 401 status -H "Authorization: Bearer ${TOKEN}x" "http://127.0.0.1:$PORT/api/v1/pipelines"
expect_output "a token's prefix" 401 status -H "Authorization: Bearer ${TOKEN:0:5}" "http://127.0.0.1:$PORT/api/v1/pipelines"
expect_output "the 401 body" "401" bash -c "curl -s http://127.0.0.1:$PORT/api/v1/pipelines | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"status\"])'"

expect_output "every run" "10 10" bash -c "$(declare -f api json); TOKEN=$TOKEN PORT=$PORT; api /api/v1/pipelines?limit=100 | json 'd[\"total\"], len(d[\"items\"])'"
expect_output "failed runs" "3 ['invalid input']" bash -c "$(declare -f api json); TOKEN=$TOKEN PORT=$PORT;
  api '/api/v1/pipelines?is_success=false' | json 'd[\"total\"], sorted({r[\"error\"][\"code\"] for r in d[\"items\"]})'"
expect_output "one pipeline, paged, newest first" "7 [5, 4] [False, False]" bash -c "$(declare -f api json); TOKEN=$TOKEN PORT=$PORT;
  api '/api/v1/pipelines?dataos_resource_id=shop.orders&limit=2&offset=2' |
  json 'd[\"total\"], [r[\"id\"] for r in d[\"items\"]], [r[\"first_run\"] for r in d[\"items\"]]'"
expect_output "by user and time" "10 0" bash -c "$(declare -f api json); TOKEN=$TOKEN PORT=$PORT;
  a=\$(api \"/api/v1/pipelines?run_as_user=\$(id -un)&started_at_gte=2020-01-01T00:00:00Z\" | json 'd[\"total\"]');
  b=\$(api '/api/v1/pipelines?started_at_gte=2999-01-01T00:00:00Z' | json 'd[\"total\"]'); echo \$a \$b"
expect_output "a pipeline's runs" "7" bash -c "$(declare -f api json); TOKEN=$TOKEN PORT=$PORT;
  api /api/v1/pipelines/shop.orders/runs | json 'd[\"total\"]'"
expect_output "its latest run" "True {'main.orders': 2} 7" bash -c "$(declare -f api json); TOKEN=$TOKEN PORT=$PORT;
  api /api/v1/pipelines/shop.orders/latest | json 'd[\"is_success\"], d[\"records_count\"], d[\"id\"]'"
expect_output "its stats" "7 7 0 14 True" bash -c "$(declare -f api json); TOKEN=$TOKEN PORT=$PORT;
  api '/api/v1/pipelines/shop.orders/stats?period=24h' |
  json 'd[\"runs\"], d[\"successes\"], d[\"failures\"], d[\"records_loaded\"], d[\"last_success\"]'"
expect_output "every pipeline's stats" "['shop.broken', 'shop.orders'] [0.0, 1.0]" bash -c "$(declare -f api json);
  TOKEN=$TOKEN PORT=$PORT; api '/api/v1/pipelines/stats?period=7d' |
  json '[p[\"pipeline\"] for p in d[\"pipelines\"]], [p[\"success_rate\"] for p in d[\"pipelines\"]]'"
expect_output "the OpenAPI document" "3.0.3 True" bash -c "$(declare -f api json); TOKEN=$TOKEN PORT=$PORT;
  api /openapi.json | json 'd[\"openapi\"], \"/api/v1/pipelines/{id}/latest\" in d[\"paths\"]'"
expect_output "an unknown path" "404" bash -c "$(declare -f api json); TOKEN=$TOKEN PORT=$PORT; api /api/v1/nothing | json 'd[\"status\"]'"
expect_output "an unknown pipeline" "404" bash -c "$(declare -f api json); TOKEN=$TOKEN PORT=$PORT; api /api/v1/pipelines/nope/latest | json 'd[\"status\"]'"
expect_output "a bad filter" "400 is_success=maybe must be true or false" bash -c "$(declare -f api json); TOKEN=$TOKEN PORT=$PORT;
  api '/api/v1/pipelines?is_success=maybe' | json 'd[\"status\"], d[\"error\"]'"
# the curl example of docs/manager.md, as written (its server is this one)
doc_curl=$(awk '/^```sh/ { n++ } /^```sh/ && n == 3 { on = 1; next } /^```/ && on { on = 0 } on' "$ROOT/docs/manager.md" |
  grep '^curl' | sed "s/127.0.0.1:9010/127.0.0.1:$PORT/")
expect_output "the documented example" "3" bash -c "NILUS_API_TOKEN=$TOKEN; $doc_curl | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"total\"])'"
grep -q "$TOKEN" responses serve.log && fail "the token appears in a response or the log"
CHECKS=$((CHECKS + 1))

# /metrics in Prometheus's text format, scraped by a real Prometheus with the token.
expect_output "rows loaded, in the text format" 'nilus_rows_loaded_total{pipeline="shop.orders",table="main.orders"} 14' \
  bash -c "curl -s -H 'Authorization: Bearer $TOKEN' http://127.0.0.1:$PORT/metrics | grep '^nilus_rows_loaded_total'"
expect_output "runs by outcome" 'nilus_runs_total{pipeline="shop.broken",outcome="failure"} 3' \
  bash -c "curl -s -H 'Authorization: Bearer $TOKEN' http://127.0.0.1:$PORT/metrics | grep 'shop.broken.*failure'"
expect_output "metrics need the token" 401 status "http://127.0.0.1:$PORT/metrics"
PROM_PORT=$(free_port)
cat >prometheus.yml <<YAML
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: nilus
    authorization: {credentials: "$TOKEN"}
    static_configs: [{targets: ["127.0.0.1:$PORT"]}]
YAML
prometheus --config.file=prometheus.yml --storage.tsdb.path="$WORK/prometheus" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >prometheus.log 2>&1 &
PROMETHEUS=$!
trap 'kill -KILL $SERVE $PROMETHEUS 2>/dev/null || true; rm -rf "$WORK"' EXIT
promql() {  # the value of a PromQL query, through Prometheus's HTTP API
  curl -s "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" |
    python3 -c "import json, sys; r = json.load(sys.stdin)['data']['result']; print(r[0]['value'][1] if r else '')"
}
for _ in $(seq 300); do [ "$(promql 'sum(nilus_rows_loaded_total)' 2>/dev/null)" = 14 ] && break; sleep 0.2; done
expect_output "Prometheus scraped the rows loaded" 14 promql 'sum(nilus_rows_loaded_total{pipeline="shop.orders"})'
expect_output "and the failed runs" 3 promql 'nilus_runs_total{pipeline="shop.broken",outcome="failure"}'
kill -TERM $PROMETHEUS
wait $PROMETHEUS || true

kill -TERM $SERVE
wait $SERVE || fail "nilus serve exited $? after SIGTERM"
CHECKS=$((CHECKS + 1))

# Without a token, nothing but loopback.
expect_exit 2 serve --listen 0.0.0.0:$PORT
expect_err_contains "refuses to listen on 0.0.0.0 without a token"
expect_exit 2 serve --listen 127.0.0.1:99999
expect_err_contains "--listen 127.0.0.1:99999"
done_ok
