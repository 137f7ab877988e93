#!/usr/bin/env bash
# PostgreSQL change data capture: the snapshot, then inserts, updates (a changed primary key
# among them), deletes, a truncate and an added column, captured into a change log in
# PostgreSQL and a mirror in SQLite; a second start resumes where the first one committed.
source "$(dirname "$0")/pg_lib.sh"
pg_start

sql "CREATE DATABASE shop"
sql "CREATE DATABASE replica"
sql shop "CREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2), placed timestamptz,
                               tags text[], paid boolean)"
sql shop "CREATE TABLE customers (id int PRIMARY KEY, name text)"
sql shop "CREATE TABLE audit (at timestamptz, what text)"  # no key: change log only
sql shop "CREATE TABLE ignored (id int PRIMARY KEY)"
sql shop "CREATE TABLE docs (id int PRIMARY KEY, body text, n int)"
sql shop "INSERT INTO orders SELECT g, 'c' || (g % 7), g * 1.25, '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 hour',
          ARRAY['a', 'b' || g], g % 2 = 0 FROM generate_series(1, 500) g"
sql shop "INSERT INTO customers SELECT g, 'name ' || g FROM generate_series(1, 20) g"

options=("engine: debezium" "plugin.name: pgoutput" "topic.prefix: cdc" "heartbeat.interval.ms: 1000" "max.batch.size: 100")
cdc_manifest mirror "sqlite:///$WORK/replica.db" merge retail "${options[@]}" \
  'table.include.list: "public.orders,public.customers,public.docs"'
cdc_manifest changelog "$PG_URI/replica" append retail "${options[@]}" \
  'table.include.list: "public.orders,public.customers,public.audit,public.docs"'

# The manifest of docs/cdc.md is valid as written.
awk '/^```yaml/ { on = 1; next } /^```/ { on = 0 } on' "$ROOT/docs/cdc.md" >"$WORK/doc-example.yaml"
PG_PASSWORD=unused expect_ok validate "$WORK/doc-example.yaml"
expect_ok validate "$WORK/mirror.yaml"
expect_ok validate "$WORK/changelog.yaml"

# mirror_rows TABLE COLUMNS: the mirror's rows, sorted, as text
mirror_rows() {
  sqlite3 -separator '|' "$WORK/replica.db" "SELECT $2 FROM retail__cdc_public_$1 ORDER BY id"
}
source_rows() {
  sql shop "SELECT $2 FROM $1 ORDER BY id"
}
orders_cols="id, customer, amount, paid"
mirror_matches() {
  [ "$(mirror_rows orders "$orders_cols")" = "$(source_rows orders "id, customer, amount, CASE WHEN paid THEN 1 WHEN NOT paid THEN 0 END")" ] &&
    [ "$(mirror_rows customers "id, name")" = "$(source_rows customers "id, name")" ]
}
changelog_count() {  # TABLE OP
  sql replica "SELECT count(*) FROM retail.cdc_public_$1 WHERE _cdc_op = '$2'"
}

start_cdc mirror
start_cdc changelog
wait_for "the snapshot in the mirror" mirror_matches
wait_for "the snapshot in the change log" '[ "$(changelog_count orders r)" = 500 ]'
expect_sql replica "SELECT count(*) FROM retail.cdc_public_customers WHERE _cdc_op = 'r'" 20
# Snapshot rows are typed as the source declares them.
expect_sql replica "SELECT amount, placed, tags, paid FROM retail.cdc_public_orders WHERE id = 7" \
  "8.75|2024-01-01 07:00:00+00|{a,b7}|f"
expect_sql replica "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'retail.cdc_public_orders'::regclass AND attname = 'amount'" \
  "numeric(12,2)"

# Changes, each in its own transaction or several in one.
sql shop "INSERT INTO orders VALUES (501, 'new', 1.50, '2024-06-01 12:00:00.123456+00', ARRAY['x'], true)"
sql shop "UPDATE orders SET amount = amount + 1 WHERE id <= 10"
sql shop "DELETE FROM orders WHERE id BETWEEN 11 AND 20"
sql shop "BEGIN; UPDATE orders SET id = 1000 WHERE id = 21; INSERT INTO customers VALUES (21, 'late'); COMMIT"
sql shop "INSERT INTO audit VALUES (now(), 'checked')"
sql shop "INSERT INTO ignored VALUES (1)"
wait_for "the changes in the mirror" mirror_matches
wait_for "the changes in the change log" '[ "$(changelog_count audit c)" = 1 ]'
expect_sql replica "SELECT count(*) FROM retail.cdc_public_orders WHERE _cdc_op = 'd'" 11
expect_sql replica "SELECT count(*) FROM retail.cdc_public_orders WHERE _cdc_op = 'u'" 10
expect_sql replica "SELECT count(*) FROM retail.cdc_public_orders WHERE _cdc_op = 'c'" 2
expect_sql replica "SELECT amount, placed FROM retail.cdc_public_orders WHERE _cdc_op = 'c' AND id = 501" \
  "1.50|2024-06-01 12:00:00.123456+00"
expect_sql replica "SELECT count(*) FROM pg_tables WHERE tablename LIKE '%ignored%'" 0
# One transaction: one commit position, each change its own place in it.
expect_sql replica "SELECT count(DISTINCT _cdc_commit_lsn), count(DISTINCT _cdc_seq) FROM retail.cdc_public_orders WHERE id IN (21, 1000) AND _cdc_op <> 'r'" \
  "1|2"
# Every change once: commit position and place are unique.
expect_sql replica "SELECT count(*) FROM (SELECT _cdc_commit_lsn, _cdc_seq, _cdc_op FROM retail.cdc_public_orders WHERE _cdc_op <> 'r' GROUP BY 1, 2, 3 HAVING count(*) > 1) d" 0

# Stopped and started again, each pipeline resumes where it committed.
stop_cdc mirror
stop_cdc changelog
sql shop "UPDATE orders SET customer = 'while stopped' WHERE id = 1"
sql shop "ALTER TABLE orders ADD COLUMN channel text"
sql shop "INSERT INTO orders (id, customer, channel) VALUES (502, 'web order', 'web')"
start_cdc mirror
start_cdc changelog
wait_for "the changes made while stopped" mirror_matches
wait_for "the new column in the change log" '[ "$(sql replica "SELECT channel FROM retail.cdc_public_orders WHERE id = 502")" = web ]'
expect_output "the new column in the mirror" "web" sqlite3 "$WORK/replica.db" "SELECT channel FROM retail__cdc_public_orders WHERE id = 502"
expect_sql replica "SELECT count(*) FROM retail.cdc_public_orders WHERE customer = 'while stopped'" 1

# A truncate empties the mirror and is one row in the change log.
sql shop "TRUNCATE customers"
sql shop "INSERT INTO customers VALUES (1, 'after truncate')"
wait_for "the truncate in the mirror" mirror_matches
wait_for "the truncate in the change log" '[ "$(changelog_count customers t)" = 1 ]'

# A TOASTed value (1 MB) that an update leaves unchanged: the server does not send it again; the
# mirror keeps it, the change log names it in _cdc_unchanged.
sql shop "INSERT INTO docs SELECT 1, string_agg(md5(g::text), ''), 0 FROM generate_series(1, 32768) g"
sql shop "UPDATE docs SET n = 1"
sql shop "BEGIN; UPDATE docs SET n = 2; UPDATE docs SET n = 3; COMMIT"
doc() { echo "$(sql shop "SELECT length(body), substr(body, 1, 40), substr(body, 1000000, 40), n FROM docs")"; }
mirror_doc() { sqlite3 -separator '|' "$WORK/replica.db" "SELECT length(body), substr(body, 1, 40), substr(body, 1000000, 40), n FROM retail__cdc_public_docs"; }
wait_for "the updated document in the mirror" '[ "$(mirror_doc)" = "$(doc)" ]'
wait_for "the document updates in the change log" '[ "$(changelog_count docs u)" = 3 ]'
expect_sql replica "SELECT count(*) FROM retail.cdc_public_docs WHERE _cdc_op = 'u' AND body IS NULL AND _cdc_unchanged = '[\"body\"]'" 3

# A table without a key and without REPLICA IDENTITY FULL cannot be mirrored: the pipeline says
# why and stops.
cdc_manifest keyless "sqlite:///$WORK/keyless.db" merge retail 'table.include.list: "public.audit"'
expect_exit 1 run "$WORK/keyless.yaml"
expect_err_contains "table public.audit has no primary key and its changes do not carry the whole old row"
expect_err_contains "ALTER TABLE public.audit REPLICA IDENTITY FULL"

# A table without a key and with REPLICA IDENTITY FULL: its updates and deletes carry the whole
# old row, in _cdc_before (JSON of text values) and, for a delete, in the row's columns.
sql shop "ALTER TABLE audit REPLICA IDENTITY FULL"
sql shop "UPDATE audit SET what = 'rechecked'"
sql shop "DELETE FROM audit"
wait_for "the keyless table's delete in the change log" '[ "$(changelog_count audit d)" = 1 ]'
expect_sql replica "SELECT what, _cdc_before::json->>'what' FROM retail.cdc_public_audit WHERE _cdc_op = 'u'" "rechecked|checked"
expect_sql replica "SELECT what, _cdc_before::json->>'what', at IS NOT NULL FROM retail.cdc_public_audit WHERE _cdc_op = 'd'" \
  "rechecked|rechecked|t"

# Such a table is mirrored by whole rows, duplicates and NULLs included: an update replaces one
# equal row, a delete removes one.
sql shop "CREATE TABLE pairs (a int, b text, j jsonb, f double precision); ALTER TABLE pairs REPLICA IDENTITY FULL;
  INSERT INTO pairs VALUES (1, 'x', '{\"k\": 1}', 0.1), (1, 'x', '{\"k\": 1}', 0.1), (1, 'x', '{\"k\": 1}', 0.1),
    (2, NULL, NULL, NULL), (2, NULL, NULL, NULL), (3, 'y', '[]', 1e300)"
for sink in "sqlite:///$WORK/keyless.db" "$PG_URI/replica"; do
  name=pairs_$(echo "$sink" | cut -c1-6 | tr -dc 'a-z')
  cdc_manifest "$name" "$sink" merge "$name" "${options[@]}" 'table.include.list: "public.pairs"'
  start_cdc "$name"
done
source_pairs() { sql shop "SELECT a, coalesce(b, '-'), coalesce(j::text, '-'), coalesce(f::text, '-') FROM pairs ORDER BY 1, 2, 3, 4"; }
pairs_in_sqlite() {
  sqlite3 -separator '|' "$WORK/keyless.db" "SELECT a, coalesce(b, '-'), coalesce(j, '-'), coalesce(f, '-') FROM pairs_sqlite__cdc_public_pairs ORDER BY 1, 2, 3, 4" |
    sed -e 's/{"k":1}/{"k": 1}/' -e 's/1.0e+300/1e+300/'
}
pairs_in_pg() { sql replica "SELECT a, coalesce(b, '-'), coalesce(j::text, '-'), coalesce(f::text, '-') FROM pairs_postgr.cdc_public_pairs ORDER BY 1, 2, 3, 4"; }
pairs_match() { [ "$(pairs_in_sqlite)" = "$(source_pairs)" ] && [ "$(pairs_in_pg)" = "$(source_pairs)" ]; }
wait_for "the keyless table's snapshot in its mirrors" pairs_match
sql shop "UPDATE pairs SET b = 'z' WHERE ctid = (SELECT min(ctid) FROM pairs WHERE a = 1)"
sql shop "DELETE FROM pairs WHERE ctid = (SELECT min(ctid) FROM pairs WHERE a = 2)"
sql shop "BEGIN; INSERT INTO pairs VALUES (3, 'y', '[]', 1e300), (4, 'w', NULL, 2); DELETE FROM pairs WHERE a = 4;
  UPDATE pairs SET a = 5 WHERE a = 3; UPDATE pairs SET f = 0.2 WHERE ctid = (SELECT min(ctid) FROM pairs WHERE a = 1 AND b = 'x');
  COMMIT"
wait_for "the keyless table's changes in its mirrors" \
  '[ "$(sql shop "SELECT count(*) FROM pairs WHERE a = 5")" = 2 ] && pairs_match'
stop_cdc pairs_sqlite
stop_cdc pairs_postgr

# A server restart mid-stream: the pipelines reconnect and carry on.
as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w restart >/dev/null
sql shop "INSERT INTO customers VALUES (2, 'after restart')"
wait_for "the change after the restart in the mirror" mirror_matches
grep -q "retrying" "$WORK/mirror.log" || fail "the mirror did not say it reconnected"

# Idle tables while another database writes WAL: heartbeats (every second here) commit the
# server's position, and the slot is released up to it.
sql "CREATE TABLE busy (x int)"
before=$(sql "SELECT pg_current_wal_lsn()")
sql "INSERT INTO busy SELECT generate_series(1, 10000)"
wait_for "the mirror slot to pass the other database's writes" \
  '[ "$(sql "SELECT confirmed_flush_lsn > '"'$before'"'::pg_lsn FROM pg_replication_slots WHERE slot_name = '"'mirror'"'")" = t ]'

# The slot is confirmed up to what was committed.
stop_cdc mirror
stop_cdc changelog
committed=$(sqlite3 "$WORK/replica.db" "SELECT json_extract(state, '$.source.lsn') FROM _nilus_state WHERE pipeline = 'mirror'")
expect_sql shop "SELECT confirmed_flush_lsn <= '$committed'::pg_lsn FROM pg_replication_slots WHERE slot_name = 'mirror'" t
grep -q "secret" "$WORK/mirror.log" "$WORK/changelog.log" && fail "a log shows the password"
echo "ok: $CHECKS checks"
