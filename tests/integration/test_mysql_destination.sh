# The MySQL/MariaDB destination against a real MariaDB: MariaDB -> MariaDB keeps every type,
# PostgreSQL -> MariaDB the closest type, append / replace / merge (nested child tables too),
# SIGKILL at any moment leaves data and state as they were or as one whole load, two runs of a
# pipeline at once, multi-row INSERTs where the server refuses LOAD DATA LOCAL, and values
# MySQL cannot hold.
source "$(dirname "$0")/pg_lib.sh"
source "$(dirname "$0")/my_lib.sh"
pg_start
my_start
mariadb --no-defaults --socket="$MY_SOCKET" -uroot --default-character-set=utf8mb4 \
  <"$ROOT/tests/integration/mysql/every_type.sql"
my_text() {  # my_text DB SQL: the rows as the mariadb client prints them, unescaped
  mariadb --no-defaults --socket="$MY_SOCKET" -uroot --default-character-set=utf8mb4 --batch --raw \
    --skip-column-names "$1" -e "$2"
}
my_text_nulls() { my_text "$@" | sed 's/NULL//g'; }  # NULL as psql prints it

# --- MariaDB -> MariaDB: every column keeps its type and its value ----------------------------------
expect_ok ingest --source-uri "$MY_URI/shop" --source-table every_type --dest-uri "$MY_URI" \
  --dest-table copy.every_type --page-size 2
types() {
  my_text information_schema "SELECT COLUMN_NAME, COLUMN_TYPE FROM COLUMNS WHERE TABLE_SCHEMA = '$1'
    AND TABLE_NAME = 'every_type' AND COLUMN_NAME <> '_nilus_load_id' ORDER BY ORDINAL_POSITION"
}
expect_output "the copy's column types" "$(types shop)" types copy
# every value, but the zero dates (read as NULL) and the point's SRID (WKB has none)
cols="id, c_tinyint, c_tinyint_u, c_bool, c_smallint, c_smallint_u, c_mediumint, c_int, c_int_u, c_bigint,
  c_bigint_u, c_decimal, c_decimal_ps, c_float, c_double, hex(c_bit1), hex(c_bit10), hex(c_bit64), c_datetime6,
  c_timestamp6, c_time, c_time6, c_year, c_char, c_varchar, c_text, c_latin1, c_utf8mb3, c_cp1251, c_sjis, c_ucs2,
  hex(c_binary), hex(c_varbinary), hex(c_blob), c_enum, c_set, c_json, ST_AsText(c_geometry), ST_AsText(c_point),
  c_uuid, c_inet6"
expect_output "the copy's values" "$(my_text shop "SELECT $cols FROM every_type ORDER BY id")" \
  my_text copy "SELECT $cols FROM every_type ORDER BY id"
expect_mysql copy "SELECT id, c_date, c_datetime FROM every_type ORDER BY id" "1	2024-02-29	2024-01-01 00:00:00
2	NULL	NULL
3	NULL	NULL"
expect_mysql copy "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'copy' AND TABLE_NAME LIKE '%nilus_staging%'" "0"

# --- PostgreSQL -> MariaDB ----------------------------------------------------------------------------
sql "CREATE DATABASE src" >/dev/null
sql src "CREATE TABLE t (id int PRIMARY KEY, big bigint, money numeric(12,2), free numeric, txt text, vc varchar(20),
  ok boolean, d date, ts timestamp, tz timestamptz, u uuid, j jsonb, b bytea, f8 double precision, r real, tm time);
INSERT INTO t VALUES (1, 9223372036854775807, 12.34, 123456789012345678901234567890.123456789012345678901234567890,
  E'tab\there\nnl \\\\ é', 'abc', true, '2024-02-29', '2024-01-01 12:00:00.5', '2024-06-30 23:59:59.5+02',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"k\": [1, 2]}', '\\x00ff5c090a', 1e300, 3.4028235e38, '23:59:59.999999'),
  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)" >/dev/null
expect_ok ingest --source-uri "$PG_URI/src" --source-table public.t --dest-uri "$MY_URI" --dest-table frompg.t
expect_mysql information_schema "SELECT GROUP_CONCAT(CONCAT(COLUMN_NAME, ' ', COLUMN_TYPE) ORDER BY ORDINAL_POSITION SEPARATOR ', ') FROM COLUMNS WHERE TABLE_SCHEMA = 'frompg' AND TABLE_NAME = 't'" \
  "id int(11), big bigint(20), money decimal(12,2), free longtext, txt longtext, vc longtext, ok tinyint(1), d date, ts datetime(6), tz datetime(6), u char(36), j longtext, b longblob, f8 double, r float, tm time(6), _nilus_load_id varchar(64)"
expect_output "PostgreSQL's values in MariaDB" \
  "$(psql -qXAt -F $'\t' -d src -c "SELECT id, big, money, free, txt, vc, ok::int, d, to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US'),
     to_char(tz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), u, j::text, upper(encode(b, 'hex')), (f8 = 1e300)::int,
     (r::float8 = 3.4028234663852886e38)::int, tm FROM t ORDER BY id")" \
  my_text_nulls frompg "SELECT id, big, money, free, txt, vc, ok, d, ts, tz, u, j, hex(b), f8 = 1e300,
    CAST(r AS DOUBLE) = 3.4028234663852886e38, tm FROM t ORDER BY id"

# --- append, replace, merge ----------------------------------------------------------------------------
mysql_sql "USE shop; CREATE TABLE orders (id bigint PRIMARY KEY, customer varchar(40) NOT NULL, amount decimal(12,2),
  updated_at datetime(6) NOT NULL);
INSERT INTO orders SELECT seq, concat('Cust ', seq % 7), seq * 1.25, '2024-01-01' + INTERVAL seq MINUTE FROM seq_1_to_1000;"
orders() { # orders DB TABLE: count, distinct ids, sums
  my_text "$1" "SELECT count(*), count(DISTINCT id), sum(amount), sum(id) FROM $2"
}
expect_ok ingest --source-uri "$MY_URI/shop" --source-table orders --dest-uri "$MY_URI" --dest-table raw.appended \
  --incremental-key updated_at
mysql_sql "USE shop; INSERT INTO orders SELECT seq, 'late', 1, '2024-01-02' FROM seq_1001_to_1010;"
expect_ok ingest --source-uri "$MY_URI/shop" --source-table orders --dest-uri "$MY_URI" --dest-table raw.appended \
  --incremental-key updated_at
# the cursor's row (the last of the first run) comes again, and is known: not loaded twice
expect_output "appended twice" "$(orders shop orders)" orders raw appended
expect_mysql raw "SELECT count(*), count(DISTINCT load_id) FROM _nilus_loads WHERE table_name = 'raw.appended'" "2	2"

expect_ok ingest --source-uri "$MY_URI/shop" --source-table orders --dest-uri "$MY_URI" --dest-table raw.replaced \
  --incremental-strategy replace
mysql_sql "DELETE FROM shop.orders WHERE id > 1000"
expect_ok ingest --source-uri "$MY_URI/shop" --source-table orders --dest-uri "$MY_URI" --dest-table raw.replaced \
  --incremental-strategy replace
expect_output "replaced" "$(orders shop orders)" orders raw replaced

expect_ok ingest --source-uri "$MY_URI/shop" --source-table orders --dest-uri "$MY_URI" --dest-table raw.merged \
  --incremental-strategy merge --incremental-key updated_at
mysql_sql "UPDATE shop.orders SET amount = 0, customer = 'CUST 1', updated_at = '2024-03-01' WHERE id IN (5, 6);
  INSERT INTO shop.orders VALUES (2000, 'new', 7, '2024-03-02');"
expect_ok ingest --source-uri "$MY_URI/shop" --source-table orders --dest-uri "$MY_URI" --dest-table raw.merged \
  --incremental-strategy merge --incremental-key updated_at
expect_output "merged" "$(orders shop orders)" orders raw merged
expect_mysql raw "SELECT id, customer, amount FROM merged WHERE id IN (5, 6, 2000) ORDER BY id" "5	CUST 1	0.00
6	CUST 1	0.00
2000	new	7.00"
# keys that differ only in case or trailing spaces stay different rows
cat >"$WORK/keys.csv" <<'CSV'
k,v
a,1
A,2
a ,3
CSV
expect_ok ingest --source-uri "csv://$WORK/keys.csv" --source-table keys --dest-uri "$MY_URI" --dest-table raw.keys \
  --incremental-strategy merge --primary-key k
expect_mysql raw "SELECT concat('[', k, ']'), v FROM \`keys\` ORDER BY v" "[a]	1
[A]	2
[a ]	3"

# nested documents: child tables, merged with their root rows; a full refresh rebuilds both
people() {
  my_text raw "SELECT p.id, p.name, group_concat(c.kind ORDER BY c._nilus_list_idx) FROM people p LEFT JOIN
    people__pets c ON c._nilus_root_id = p._nilus_id GROUP BY p.id, p.name ORDER BY p.id"
}
cat >"$WORK/people.yaml" <<YAML
source:
  address: jsonl://$WORK/people/*.jsonl
  options: {max-table-nesting: 1}
sink:
  address: $MY_URI
  options: {dest-table: raw.people, incremental-strategy: merge, primary-key: id}
YAML
mkdir "$WORK/people"
cat >"$WORK/people/1.jsonl" <<'JSONL'
{"id": 1, "name": "ann", "pets": [{"kind": "cat"}, {"kind": "dog"}]}
{"id": 2, "name": "bob", "pets": [{"kind": "fish"}]}
JSONL
expect_ok run "$WORK/people.yaml"
cat >"$WORK/people/2.jsonl" <<'JSONL'
{"id": 1, "name": "ann", "pets": [{"kind": "parrot"}]}
{"id": 3, "name": "cid", "pets": [{"kind": "ant"}, {"kind": "bee"}]}
JSONL
expect_ok run "$WORK/people.yaml"
expect_output "people merged" "1	ann	parrot
2	bob	fish
3	cid	ant,bee" people
expect_mysql raw "SELECT count(*) FROM people__pets" "4"
rm "$WORK/people/1.jsonl"
expect_ok run "$WORK/people.yaml" --full-refresh
expect_output "people rebuilt" "1	ann	parrot
3	cid	ant,bee" people
expect_mysql raw "SELECT count(*) FROM people__pets" "3"

# a column that appears mid-load, after rows went straight into the table and a child table: the
# load stages what it wrote and goes on staged; every row lands once, with its values
python3 - "$WORK/evolve.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(1, 3001):
        row = {"id": i, "a": f"a{i}", "tags": [f"t{i}", f"u{i}"]}
        if i > 2000:
            row["b"] = i * 2
        f.write(json.dumps(row) + "\n")
PY
cat >"$WORK/evolve.yaml" <<YAML
source:
  address: jsonl://$WORK/evolve.jsonl
  options: {max-table-nesting: 1, page-size: 500}
sink:
  address: $MY_URI
  options: {dest-table: raw.evolve, incremental-strategy: append}
YAML
expect_ok run "$WORK/evolve.yaml" --log-level debug
expect_err_contains "raw.evolve: moving the rows written so far into a staging table"
expect_mysql raw "SELECT count(*), count(DISTINCT id), sum(id), count(b), sum(b), count(DISTINCT _nilus_load_id) FROM evolve" \
  "3000	3000	4501500	1000	5001000	1"
expect_mysql raw "SELECT count(*), count(DISTINCT value) FROM evolve__tags" "6000	6000"

# --- where the server refuses LOAD DATA LOCAL: multi-row INSERTs, the same values ---------------------
mysql_sql "SET GLOBAL local_infile = 0"
expect_ok ingest --source-uri "$MY_URI/shop" --source-table every_type --dest-uri "$MY_URI" \
  --dest-table copy2.every_type
expect_err_contains "loading with multi-row INSERTs"
expect_output "the values through INSERTs" "$(my_text shop "SELECT $cols FROM every_type ORDER BY id")" \
  my_text copy2 "SELECT $cols FROM every_type ORDER BY id"
mysql_sql "SET GLOBAL local_infile = 1"

# --- values MySQL cannot hold: a clear error, nothing loaded ---------------------------------------------
sql src "CREATE TABLE inf (id int, d date); INSERT INTO inf VALUES (1, '2024-01-01'), (2, 'infinity')" >/dev/null
expect_exit 2 ingest --source-uri "$PG_URI/src" --source-table public.inf --dest-uri "$MY_URI" --dest-table raw.inf
expect_err_contains "row 2, column 'd': MySQL has no infinite date"
expect_mysql raw "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'raw' AND TABLE_NAME = 'inf' AND TABLE_ROWS > 0" "0"
sql src "CREATE TABLE big (id int, v text); INSERT INTO big VALUES (1, repeat('x', 300))" >/dev/null
expect_exit 2 ingest --source-uri "$PG_URI/src" --source-table public.big --dest-uri "$MY_URI" --dest-table raw.big \
  --incremental-strategy merge --primary-key v
expect_err_contains "Data too long"

# --- SIGKILL at any moment: the destination holds the last committed load, whole ----------------------
mysql_sql "USE shop; CREATE TABLE events (id bigint PRIMARY KEY, payload varchar(80));
INSERT INTO events SELECT seq, concat(repeat('x', 50), seq) FROM seq_1_to_1000;"
load_args=(ingest --source-uri "$MY_URI/shop" --source-table events --dest-uri "$MY_URI" --dest-table crash.events
  --incremental-key id)
expect_ok "${load_args[@]}"
mysql_sql "USE shop; INSERT INTO events SELECT seq, concat(repeat('y', 50), seq) FROM seq_1001_to_600000;"
snapshot() {
  my_text crash "SELECT count(*), sum(id) FROM events; SELECT state FROM _nilus_state; SELECT count(*) FROM _nilus_loads"
}
before=$(snapshot)
for delay in 0.3 0.8 1.3 1.8 2.5 3.5; do
  "$NILUS_BIN" "${load_args[@]}" >"$WORK/kill.log" 2>&1 &
  pid=$!
  sleep "$delay"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # the server notices the client gone and rolls its transaction back
  wait_for "the killed load's session to end" \
    '[ "$(mysql_sql "SELECT count(*) FROM information_schema.PROCESSLIST WHERE USER = '"'app'"'")" = 0 ]'
  now=$(snapshot)
  if [ "$now" != "$before" ]; then
    # the kill came after the commit: the whole load, once
    expect_mysql crash "SELECT count(*), count(DISTINCT id) FROM events" "600000	600000"
    break
  fi
  CHECKS=$((CHECKS + 1))
done
expect_ok "${load_args[@]}"
expect_output "the events after the kills" "$(my_text shop "SELECT count(*), count(DISTINCT id), sum(id), md5(group_concat(payload ORDER BY id)) FROM events")" \
  my_text crash "SELECT count(*), count(DISTINCT id), sum(id), md5(group_concat(payload ORDER BY id)) FROM events"

# --- SIGTERM mid-load: exit 130, and nothing of the load committed ----------------------------------
mysql_sql "USE shop; INSERT INTO events SELECT seq, 'w' FROM seq_900001_to_1500000;"
before=$(snapshot)
"$NILUS_BIN" "${load_args[@]}" >"$WORK/term.log" 2>&1 &
pid=$!
# once the load's transaction holds rows (it stays open until the commit)
wait_for "the load to write rows" \
  '[ "$(mysql_sql "SELECT count(*) FROM information_schema.INNODB_TRX WHERE trx_rows_modified > 0")" -gt 0 ]'
kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
[ "$rc" -eq 130 ] || { cat "$WORK/term.log" >&2; fail "a load stopped by SIGTERM exited $rc, expected 130"; }
CHECKS=$((CHECKS + 1))
grep -q "nothing of the unfinished load was committed" "$WORK/term.log" || fail "the stop did not say what it left"
wait_for "the stopped load's session to end" \
  '[ "$(mysql_sql "SELECT count(*) FROM information_schema.PROCESSLIST WHERE USER = '"'app'"'")" = 0 ]'
[ "$(snapshot)" = "$before" ] || fail "after SIGTERM the destination changed: $(snapshot)"
CHECKS=$((CHECKS + 1))

# --- two runs of one pipeline at once: the second waits, then loads only what is new ---------------------
mysql_sql "USE shop; INSERT INTO events SELECT seq, 'z' FROM seq_1500001_to_1700000;"
"$NILUS_BIN" "${load_args[@]}" >"$WORK/first.log" 2>&1 &
first=$!
"$NILUS_BIN" "${load_args[@]}" >"$WORK/second.log" 2>&1 &
second=$!
wait "$first" || fail "the first of two concurrent runs failed: $(cat "$WORK/first.log")"
wait "$second" || fail "the second of two concurrent runs failed: $(cat "$WORK/second.log")"
grep -q "another load of pipeline" "$WORK/first.log" "$WORK/second.log" || fail "neither run waited for the other"
CHECKS=$((CHECKS + 1))
expect_output "the events after two concurrent runs" "$(my_text shop "SELECT count(*), count(DISTINCT id), sum(id) FROM events")" \
  my_text crash "SELECT count(*), count(DISTINCT id), sum(id) FROM events"
done_ok
