#!/usr/bin/env bash
# NILUS_METADATA_URI: the run history in PostgreSQL. Runs on one machine ($NILUS_HOME a) land
# there with PostgreSQL's types; with the database down a run loads all the same, its record waits
# in the local history and goes with the next run, once; nilus serve on another machine
# ($NILUS_HOME b) answers from what every machine recorded, its own runs not counted twice.
source "$(dirname "$0")/pg_lib.sh"
pg_start
sql "CREATE DATABASE meta"
META="postgresql://app:app-secret-pw@127.0.0.1:$PGPORT/meta"
printf 'id,name\n1,ann\n2,bob\n' >"$WORK/orders.csv"
cat >"$WORK/orders.yaml" <<YAML
name: shop
type: workflow
workflow:
  dag:
    - name: orders
      spec:
        stackSpec:
          source: {address: "file://$WORK/orders.csv"}
          sink: {address: "sqlite:///$WORK/dst.db", options: {dest-table: raw.orders, incremental-strategy: replace}}
YAML
# The setting as docs/manager.md writes it, with this test's database.
doc_export=$(awk '/^```sh/ { n++ } /^```sh/ && n == 2 { on = 1; next } /^```/ && on { on = 0 } on' "$ROOT/docs/manager.md")
case $doc_export in "export NILUS_METADATA_URI=postgresql://"*) ;; *) fail "no NILUS_METADATA_URI example in docs/manager.md" ;; esac
META=$(bash -c "${doc_export/postgresql:\/\/nilus:secret@metadata-db:5432\/nilus/$META}; echo \$NILUS_METADATA_URI")
[ "$META" = "postgresql://app:app-secret-pw@127.0.0.1:$PGPORT/meta" ] || fail "the documented setting did not give the address: $META"
on_a() { NILUS_HOME=$WORK/a NILUS_METADATA_URI=$META "$@"; }
remote() { sql meta "$1"; }
local_a() { sqlite3 "$WORK/a/metadata.db" "$1"; }

on_a expect_ok run "$WORK/orders.yaml"
on_a expect_ok run "$WORK/orders.yaml"
expect_sql meta "SELECT count(*), bool_and(is_success), min(records_count->>'raw.orders'), pg_typeof(min(started_at))
  FROM runs_info WHERE dataos_resource_id = 'shop.orders'" "2|t|2|timestamp with time zone"
expect_sql meta "SELECT count(*), min(schema->'tables'->0->>'name') FROM load_info" "2|orders"
expect_sql meta "SELECT count(*) FROM extract_info JOIN normalize_info USING (run_id)" "2"
expect_output "the same runs here and there" "$(local_a "SELECT run_id FROM runs_info ORDER BY run_id")" \
  remote "SELECT run_id FROM runs_info ORDER BY run_id"
expect_err_lacks "app-secret-pw"

# The database down: the load happens, its record waits here, then goes with the next run.
as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast stop >/dev/null
on_a expect_ok run "$WORK/orders.yaml"
expect_err_contains "1 run wait in $WORK/a/metadata.db for the run history at NILUS_METADATA_URI"
expect_err_lacks "app-secret-pw"
expect_output "the spool" 1 local_a "SELECT count(*) FROM export_queue"
as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$WORK/pg.log" -w start >/dev/null
on_a expect_ok run "$WORK/orders.yaml"
expect_output "the spool, sent" 0 local_a "SELECT count(*) FROM export_queue"
expect_output "every run there once, in order" "$(local_a "SELECT run_id FROM runs_info ORDER BY started_at")" \
  remote "SELECT run_id FROM runs_info ORDER BY id"
# A run sent again (its answer lost) is not recorded twice.
local_a "INSERT INTO export_queue SELECT run_id FROM runs_info ORDER BY id LIMIT 1"
on_a expect_ok run "$WORK/orders.yaml"
expect_sql meta "SELECT count(*), count(DISTINCT run_id) FROM runs_info" "5|5"
expect_sql meta "SELECT count(*) FROM load_info" "5"

# Another machine's nilus serve answers from every machine's runs, its own included once.
NILUS_HOME=$WORK/b NILUS_METADATA_URI=$META expect_ok run "$WORK/orders.yaml"
PORT=$(free_port)
NILUS_HOME=$WORK/b NILUS_METADATA_URI=$META "$NILUS_BIN" serve --listen "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
SERVE=$!
for _ in $(seq 100); do curl -s "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
total() { curl -s "http://127.0.0.1:$PORT/api/v1/pipelines?dataos_resource_id=shop.orders" | python3 -c "import json, sys; print(json.load(sys.stdin)['total'])"; }
expect_output "the runs of both machines" 6 total
curl -s "http://127.0.0.1:$PORT/metrics" >"$WORK/metrics"
grep -qF 'nilus_runs_total{pipeline="shop.orders",outcome="success"} 6' "$WORK/metrics" ||
  { grep nilus_runs_total "$WORK/metrics" >&2; fail "the metrics do not count the six runs once each"; }
grep -qF 'nilus_rows_loaded_total{pipeline="shop.orders",table="raw.orders"} 12' "$WORK/metrics" ||
  { grep nilus_rows_loaded "$WORK/metrics" >&2; fail "the rows loaded are not 6 × 2"; }
CHECKS=$((CHECKS + 2))
on_a expect_ok run "$WORK/orders.yaml"
sleep 2.1  # nilus serve copies the remote runs at most every 2 s
expect_output "a new run on the first machine" 7 total
kill -TERM $SERVE
wait $SERVE || fail "nilus serve exited $? after SIGTERM"
if grep -qF "app-secret-pw" "$WORK/serve.log"; then fail "the password is in the log"; fi
CHECKS=$((CHECKS + 2))

# Wrong addresses: not PostgreSQL is invalid input; a wrong password is a warning, the load happens.
NILUS_METADATA_URI=mysql://x@127.0.0.1/m expect_exit 2 run "$WORK/orders.yaml"
expect_err_contains "NILUS_METADATA_URI must be a PostgreSQL address"
NILUS_HOME=$WORK/c NILUS_METADATA_URI="postgresql://app:wrong-pw-99@127.0.0.1:$PGPORT/meta" expect_ok run "$WORK/orders.yaml"
expect_err_contains "password authentication failed"
expect_err_lacks "wrong-pw-99"
done_ok
