#!/usr/bin/env bash
# Change data capture from MariaDB's binary log into PostgreSQL, a mirror and a change log: the
# snapshot, then inserts, updates, deletes, a changed key, a keyless table, every type (the rows
# streamed equal the batch read of the same rows), a column added mid-stream, TRUNCATE, a
# rotated log, a server restart, a stop and a resume; and the clear errors for a server or a
# user that cannot serve it.
source "$(dirname "$0")/pg_lib.sh"
source "$(dirname "$0")/my_lib.sh"
pg_start
my_start
mariadb --no-defaults --socket="$MY_SOCKET" -uroot --default-character-set=utf8mb4 \
  <"$ROOT/tests/integration/mysql/every_type.sql"
sql "CREATE DATABASE replica" >/dev/null
mysql_sql shop "CREATE TABLE orders (id int AUTO_INCREMENT PRIMARY KEY, customer varchar(40), amount decimal(12,2),
    at datetime(6));
  CREATE TABLE notes (body text, n int);
  CREATE TABLE streamed_types LIKE every_type;
  INSERT INTO orders (customer, amount, at) VALUES ('ann', 10.50, '2024-01-01 10:00:00.000001'), ('bob', 20, NULL);
  INSERT INTO notes VALUES ('first', 1), ('second', 2);"
# The reference for every type: the batch read of the torture table.
expect_ok ingest --source-uri "$MY_URI/shop" --source-table every_type --dest-uri "$PG_URI/replica" \
  --dest-table batch.every_type

options=("topic.prefix: my" "heartbeat.interval.ms: 500" 'table.include.list: "shop\\.(orders|notes|streamed_types)"')
my_cdc_manifest mirror "$PG_URI/replica" merge mirror "${options[@]}"
my_cdc_manifest changelog "$PG_URI/replica" append changelog "${options[@]}"
start_cdc mirror
start_cdc changelog
wait_for "the snapshot in the mirror" \
  '[ "$(sql replica "SELECT count(*) FROM mirror.my_shop_orders")" = 2 ]'
wait_for "the snapshot in the change log" \
  '[ "$(sql replica "SELECT count(*) FROM changelog.my_shop_notes")" = 2 ]'
expect_sql replica "SELECT id, customer, amount, at, _cdc_op FROM changelog.my_shop_orders ORDER BY id" \
  "1|ann|10.50|2024-01-01 10:00:00.000001|r
2|bob|20.00||r"

# --- changes ----------------------------------------------------------------------------------
mysql_sql shop "INSERT INTO orders (customer, amount, at) VALUES ('cy', 30.25, '2024-03-01 00:00:00');
  UPDATE orders SET amount = amount + 1 WHERE id = 1;
  DELETE FROM orders WHERE id = 2;
  UPDATE orders SET id = 10 WHERE id = 3;
  START TRANSACTION; INSERT INTO orders (customer) VALUES ('tx1'), ('tx2'); UPDATE orders SET customer = 'tx2b'
    WHERE customer = 'tx2'; COMMIT;
  UPDATE notes SET n = 20 WHERE body = 'second';
  DELETE FROM notes WHERE body = 'first';
  INSERT INTO streamed_types SELECT * FROM every_type;"
source_orders() { mysql_sql shop "SELECT id, customer, ifnull(amount, ''), ifnull(at, '') FROM orders ORDER BY id"; }
mirror_orders() {
  psql -qXAt -F $'\t' -d replica -c "SELECT id, customer, coalesce(amount::text, ''),
    coalesce(to_char(at, 'YYYY-MM-DD HH24:MI:SS.US'), '') FROM mirror.my_shop_orders ORDER BY id"
}
wait_for "the changes in the mirror" '[ "$(source_orders)" = "$(mirror_orders)" ]'
CHECKS=$((CHECKS + 1))
wait_for "every type streamed" '[ "$(sql replica "SELECT count(*) FROM mirror.my_shop_streamed_types")" = 3 ]'
expect_sql replica "SELECT string_agg(_cdc_op, ',' ORDER BY _cdc_commit_lsn, _cdc_seq) FROM changelog.my_shop_orders" \
  "r,r,c,u,d,d,c,c,c,u"
expect_sql replica "SELECT _cdc_before::jsonb->>'amount', amount FROM changelog.my_shop_orders WHERE _cdc_op = 'u'
  AND id = 1" "10.50|11.50"
# the keyless table: its whole old row finds the row
expect_sql replica "SELECT body, n FROM mirror.my_shop_notes ORDER BY body" "second|20"
# Streamed values equal the batch read of the same rows, column by column.
columns=$(sql replica "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute WHERE
  attrelid = 'batch.every_type'::regclass AND attnum > 0 AND NOT attisdropped AND attname NOT LIKE '\_nilus%'")
expect_sql replica "SELECT count(*) FROM (SELECT $columns FROM batch.every_type EXCEPT
  SELECT $columns FROM mirror.my_shop_streamed_types) d" 0
expect_sql replica "SELECT count(*) FROM (SELECT $columns FROM mirror.my_shop_streamed_types EXCEPT
  SELECT $columns FROM batch.every_type) d" 0
expect_sql replica "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE
  attrelid = 'mirror.my_shop_streamed_types'::regclass AND attname IN ('c_bigint_u', 'c_datetime6', 'c_json')
  ORDER BY attname" "numeric(20,0)
timestamp(6) without time zone
jsonb"

# --- a column added mid-stream, TRUNCATE, a rotated log ------------------------------------------
mysql_sql shop "ALTER TABLE orders ADD COLUMN note varchar(20);
  INSERT INTO orders (customer, note) VALUES ('dee', 'added later');
  FLUSH BINARY LOGS;
  UPDATE orders SET note = 'after rotation' WHERE id = 1;
  TRUNCATE TABLE notes;
  INSERT INTO notes VALUES ('after truncate', 3);"
wait_for "the new column and the truncate in the mirror" \
  '[ "$(sql replica "SELECT string_agg(coalesce(note, '"'-'"'), '"','"' ORDER BY id) FROM mirror.my_shop_orders")" = "after rotation,-,-,-,added later" ] &&
   [ "$(sql replica "SELECT string_agg(body, '"','"') FROM mirror.my_shop_notes")" = "after truncate" ]'
CHECKS=$((CHECKS + 1))
expect_sql replica "SELECT count(*) FROM changelog.my_shop_notes WHERE _cdc_op = 't'" 1

# --- a server restart while both capture ----------------------------------------------------------
my_restart
mysql_sql shop "INSERT INTO orders (customer) VALUES ('after restart'); DELETE FROM orders WHERE id = 10"
wait_for "the changes after the restart" '[ "$(source_orders)" = "$(mirror_orders)" ]'
CHECKS=$((CHECKS + 1))

# --- minimal row images: the columns left out are kept in the mirror, listed in the change log --
mysql_sql "" "SET GLOBAL binlog_row_image = 'MINIMAL'"
mysql_sql shop "UPDATE orders SET customer = 'ann (minimal)' WHERE id = 1"
wait_for "the minimal update in the mirror" '[ "$(source_orders)" = "$(mirror_orders)" ]'
CHECKS=$((CHECKS + 1))
minimal_logged() {
  [ "$(sql replica "SELECT _cdc_unchanged::jsonb = '[\"amount\", \"at\", \"note\"]'::jsonb
    FROM changelog.my_shop_orders WHERE customer = 'ann (minimal)'")" = t ]
}
wait_for "the minimal update in the change log, its unchanged columns listed" minimal_logged
CHECKS=$((CHECKS + 1))
mysql_sql "" "SET GLOBAL binlog_row_image = 'FULL'"

# --- stopped, changes meanwhile, resumed from the committed position ------------------------------
stop_cdc mirror
stop_cdc changelog
mysql_sql shop "UPDATE orders SET amount = 99 WHERE id = 1; INSERT INTO orders (customer) VALUES ('while stopped')"
start_cdc mirror
start_cdc changelog
wait_for "the changes made while stopped" '[ "$(source_orders)" = "$(mirror_orders)" ]'
wait_for "the change log to catch up" \
  '[ "$(sql replica "SELECT count(*) FROM changelog.my_shop_orders WHERE customer = '"'while stopped'"'")" = 1 ]'
CHECKS=$((CHECKS + 2))
stop_cdc mirror
stop_cdc changelog
# every change once
expect_sql replica "SELECT count(*) FROM (SELECT _cdc_commit_lsn, _cdc_seq FROM changelog.my_shop_orders WHERE _cdc_op <> 'r'
  GROUP BY 1, 2 HAVING count(*) > 1) d" 0
expect_sql replica "SELECT count(*) FROM changelog.my_shop_orders WHERE amount = 99" 1
expect_sql replica "SELECT state::json->'source'->>'file' LIKE 'binlog.%' FROM mirror._nilus_state" t

# --- the example of docs/connectors/mysql.md, as written, with the privileges it lists -----------
mysql_sql "" "CREATE USER cdc@'%' IDENTIFIED BY 'cdc-secret-pw';
  GRANT REPLICATION SLAVE, BINLOG MONITOR, SELECT ON *.* TO cdc@'%';
  CREATE TABLE shop.customers (id int PRIMARY KEY, name varchar(20)); INSERT INTO shop.customers VALUES (1, 'ann')"
sql "CREATE DATABASE dst" >/dev/null
awk '/^```yaml/ { n++ } /^```yaml/ && n == 2 { on = 1; next } /^```/ && on { on = 0 } on' \
  "$ROOT/docs/connectors/mysql.md" | sed "s/@db:3306/@127.0.0.1:$MYPORT/; s/@warehouse:5432/@127.0.0.1:$PGPORT/" \
  >"$WORK/doc-cdc.yaml"
grep -q "type: service" "$WORK/doc-cdc.yaml" || fail "docs/connectors/mysql.md has no change-data-capture example"
MYSQL_PASSWORD=cdc-secret-pw PG_PASSWORD=app-secret-pw "$NILUS_BIN" run "$WORK/doc-cdc.yaml" >"$WORK/doc-cdc.log" 2>&1 &
DOC_PID=$!
mysql_sql shop "INSERT INTO customers VALUES (2, 'bob')"
wait_for "the documented pipeline to mirror both tables" \
  '[ "$(sql dst "SELECT string_agg(name, '"','"' ORDER BY id) FROM retail.cdc_shop_customers")" = "ann,bob" ] &&
   [ "$(sql dst "SELECT count(*) FROM retail.cdc_shop_orders")" = "$(mysql_sql shop "SELECT count(*) FROM orders")" ]'
kill -TERM "$DOC_PID"
wait "$DOC_PID" || fail "the documented pipeline exited $? after SIGTERM"
CHECKS=$((CHECKS + 1))

# --- what cannot work says why --------------------------------------------------------------------
my_cdc_manifest bad "$PG_URI/replica" merge bad "slot.name: x"
expect_exit 2 run "$WORK/bad.yaml"
expect_err_contains "source option 'slot.name' is not honoured by the mysql:// source"
my_cdc_manifest bad "$PG_URI/replica" merge bad "database.server.id: zero"
expect_exit 2 run "$WORK/bad.yaml"
expect_err_contains "database.server.id"
my_cdc_manifest bad "$PG_URI/replica" merge bad 'table.include.list: "nothing\\.here"'
expect_exit 2 run "$WORK/bad.yaml"
expect_err_contains "no table of the server matches"
mysql_sql "" "SET GLOBAL binlog_row_metadata = 'MINIMAL'"
my_cdc_manifest bad "$PG_URI/replica" merge bad "topic.prefix: bad"
expect_exit 1 run "$WORK/bad.yaml"
expect_err_contains "binlog_row_metadata = FULL"
mysql_sql "" "SET GLOBAL binlog_row_metadata = 'FULL'; SET GLOBAL binlog_format = 'STATEMENT'"
expect_exit 1 run "$WORK/bad.yaml"
expect_err_contains "set binlog_format = ROW"
mysql_sql "" "SET GLOBAL binlog_format = 'ROW'"
# a keyless table under minimal row images: the server logs its whole old row all the same
my_cdc_manifest keyless "$PG_URI/replica" merge keyless 'table.include.list: "shop\\.notes"'
start_cdc keyless
wait_for "the keyless mirror to stream" 'grep -q "streaming the binary log" "$WORK/keyless.log"'
mysql_sql "" "SET GLOBAL binlog_row_image = 'MINIMAL'"
mysql_sql shop "UPDATE notes SET n = n + 1; INSERT INTO notes VALUES ('minimal', 7)"
mysql_sql "" "SET GLOBAL binlog_row_image = 'FULL'"
notes_match() {
  [ "$(mysql_sql shop "SELECT body, n FROM notes ORDER BY body")" = \
    "$(psql -qXAt -F $'\t' -d replica -c "SELECT body, n FROM keyless.cdc_shop_notes ORDER BY body")" ]
}
wait_for "the keyless mirror to follow minimal images" notes_match
CHECKS=$((CHECKS + 1))
stop_cdc keyless
# a session that logs statements writes rows the log does not carry: the pipeline stops
my_cdc_manifest statements "$PG_URI/replica" merge statements 'table.include.list: "shop\\.orders"'
"$NILUS_BIN" run "$WORK/statements.yaml" >"$WORK/statements.log" 2>&1 &
STATEMENTS_PID=$!
wait_for "the statements mirror to stream" 'grep -q "streaming the binary log" "$WORK/statements.log"'
mysql_sql shop "SET SESSION binlog_format = 'STATEMENT'; INSERT INTO orders (customer) VALUES ('logged as a statement')"
wait_for "the statements mirror to stop" '! kill -0 "$STATEMENTS_PID"'
wait "$STATEMENTS_PID" && fail "the mirror ended well past a statement it cannot read"
grep -q "the binary log holds a statement, not its rows" "$WORK/statements.log" ||
  { cat "$WORK/statements.log" >&2; fail "the mirror did not say why it stopped"; }
CHECKS=$((CHECKS + 1))
mysql_sql "" "CREATE USER reader@'%' IDENTIFIED BY 'reader-secret-pw'; GRANT SELECT ON shop.* TO reader@'%'"
sed -i "s|$MY_URI|mysql://reader:reader-secret-pw@127.0.0.1:$MYPORT|" "$WORK/bad.yaml"
expect_exit 1 run "$WORK/bad.yaml"
expect_err_contains "GRANT REPLICATION SLAVE"
expect_err_lacks "reader-secret-pw"
done_ok
