#!/usr/bin/env bash
# The run history: every run of a pipeline lands in $NILUS_HOME/metadata.db (runs_info,
# extract_info, normalize_info, load_info), successful or not; old runs go after the retention;
# a history that cannot be written never fails a load.
source "$(dirname "$0")/lib.sh"
printf 'id,name,amount\n1,ann,10.5\n2,bob,20\n3,cy,30\n' >orders.csv
cat >orders.yaml <<YAML
name: shop
type: workflow
workflow:
  dag:
    - name: orders-daily
      spec:
        stackSpec:
          source: {address: "file://$WORK/orders.csv"}
          sink:
            address: sqlite:///$WORK/dst.db
            options: {dest-table: main.orders, incremental-strategy: append}
YAML
history() { sqlite3 -separator '|' "$NILUS_HOME/metadata.db" "$1"; }

expect_ok run orders.yaml
expect_ok run orders.yaml
sed "s|orders.csv|missing.csv|" orders.yaml >missing.yaml
expect_exit 2 run missing.yaml
# (the second run finds the file loaded already: no rows)
expect_output "the runs, in order" "shop.orders-daily|1|1|{\"main.orders\":3}|main|sqlite|file
shop.orders-daily|0|1|{\"main.orders\":0}|main|sqlite|file
shop.orders-daily|0|0|{}|main|sqlite|file" \
  history "SELECT dataos_resource_id, first_run, is_success, records_count, destination_schema, destination_depot,
    source_depot FROM runs_info ORDER BY id"
expect_output "the failed run's error" "invalid input|1" \
  history "SELECT json_extract(error, '$.code'), instr(json_extract(error, '$.message'), 'missing.csv') > 0
    FROM runs_info WHERE is_success = 0"
# each successful run's load is the one the destination committed
expect_output "load ids match the destination's" "$(sqlite3 dst.db "SELECT load_id FROM _nilus_loads ORDER BY 1")" \
  history "SELECT l.load_id FROM load_info l JOIN runs_info r USING (run_id) WHERE r.load_id = l.load_id ORDER BY 1"
expect_output "per-stage rows" "3|3|3
0|0|0" history "SELECT e.records, n.records, l.records FROM extract_info e JOIN normalize_info n USING (run_id)
    JOIN load_info l USING (run_id) ORDER BY e.id"
expect_output "the committed schema in load_info" "id,name,amount" \
  history "SELECT group_concat(json_extract(c.value, '$.name')) FROM load_info l, json_each(l.schema, '$.tables[0].columns') c
    WHERE l.id = 1"
expect_output "timings and resources are measured" "1" \
  history "SELECT min(duration_sec > 0 AND memory_mb > 1 AND started_at <= finished_at AND started_at LIKE '____-__-__T%Z')
    FROM runs_info"

# the query of docs/manager.md, as written
doc_query=$(awk '/^```sh/ { n++ } /^```sh/ && n == 1 { on = 1; next } /^```/ && on { on = 0 } on' "$ROOT/docs/manager.md" |
  sed "s|~/.nilus|$NILUS_HOME|")
expect_output "the documented query" "3" bash -c "$doc_query | wc -l"

# Retention: a run older than NILUS_HISTORY_RETENTION_DAYS goes, with its stages.
history "UPDATE runs_info SET started_at = '2020-01-01T00:00:00.000000Z' WHERE id = 1"
NILUS_HISTORY_RETENTION_DAYS=30 expect_ok run orders.yaml
expect_output "the old run is gone, with its stages" "2,3,4|2,3" \
  history "SELECT (SELECT group_concat(id) FROM runs_info), (SELECT group_concat(id) FROM load_info)"
# A run's stages are found by its run_id through an index (the stats and the retention's cascade
# would read every stage of the history for each run without it).
expect_output "the stages' indexes" "extract_info_run
load_info_run
normalize_info_run" history "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE '%_info_run' ORDER BY 1"
# The metrics' totals keep every run, the removed one too (counters never go back).
expect_output "the totals" "$(history "SELECT count(*) + 1 FROM runs_info WHERE dataos_resource_id = 'shop.orders-daily'")" \
  history "SELECT successes + failures FROM pipeline_totals WHERE pipeline = 'shop.orders-daily'"
# A history written before the totals were kept gets them from its runs, once.
history "DROP TABLE pipeline_totals; DROP TABLE table_totals"
expect_ok run orders.yaml
expect_output "the totals of an older history" "$(history "SELECT count(*) FROM runs_info WHERE dataos_resource_id = 'shop.orders-daily'")" \
  history "SELECT successes + failures FROM pipeline_totals WHERE pipeline = 'shop.orders-daily'"
NILUS_HISTORY_RETENTION_DAYS=soon expect_exit 2 run orders.yaml
expect_err_contains "NILUS_HISTORY_RETENTION_DAYS='soon' must be a number of days"

# --push-metrics: a one-shot run's metrics in a real Pushgateway (a failed push is a warning).
GATEWAY_PORT=$(free_port)
prometheus-pushgateway --web.listen-address="127.0.0.1:$GATEWAY_PORT" >pushgateway.log 2>&1 &
GATEWAY=$!
trap 'kill -KILL $GATEWAY 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do curl -s "http://127.0.0.1:$GATEWAY_PORT/metrics" >/dev/null && break; sleep 0.1; done
printf 'id,name,amount\n4,dee,40\n5,eve,50\n' >more.csv
sed "s|orders.csv|more.csv|" orders.yaml >more.yaml
expect_ok run more.yaml --push-metrics "http://127.0.0.1:$GATEWAY_PORT"
expect_output "the pushed rows" 'nilus_run_rows_loaded{instance="",job="nilus",pipeline="shop.orders-daily",table="main.orders"} 2' \
  bash -c "curl -s http://127.0.0.1:$GATEWAY_PORT/metrics | grep '^nilus_run_rows_loaded'"
expect_output "the pushed outcome" 'nilus_run_success{instance="",job="nilus",pipeline="shop.orders-daily"} 1' \
  bash -c "curl -s http://127.0.0.1:$GATEWAY_PORT/metrics | grep '^nilus_run_success'"
kill -TERM $GATEWAY
wait $GATEWAY || true
expect_ok run orders.yaml --push-metrics "http://127.0.0.1:$GATEWAY_PORT"
expect_err_contains "the run's metrics were not pushed"

# A history that cannot be written is a warning; the load happens.
rm "$NILUS_HOME/metadata.db"*
mkdir "$NILUS_HOME/metadata.db"
expect_ok run orders.yaml
expect_err_contains "runs are not written to the run history"
expect_query dst.db "SELECT count(*) FROM orders" 5
done_ok
