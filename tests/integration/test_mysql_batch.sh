# The MySQL/MariaDB source against a real MariaDB: incremental reads, merge by the discovered
# primary key, columns and limits, parallel ranges that see one point in time while the table
# is written (and one connection when the user may not take the lock), a stop mid-read, and
# bad input.
source "$(dirname "$0")/pg_lib.sh"
source "$(dirname "$0")/my_lib.sh"
pg_start
my_start
sql "CREATE DATABASE dst" >/dev/null
mysql_sql "CREATE DATABASE shop; USE shop;
CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer varchar(40) NOT NULL, amount decimal(12,2),
  updated_at datetime(6) NOT NULL, secret varchar(20));
INSERT INTO shop.orders SELECT seq, concat('c', seq % 7), seq * 1.25, '2024-01-01' + INTERVAL seq MINUTE, 'x'
  FROM seq_1_to_1000;"

# --- incremental append: the second run reads only rows at or after the cursor ---------------------
expect_ok ingest --source-uri "$MY_URI/shop" --source-table orders --dest-uri "$PG_URI/dst" --dest-table raw.orders \
  --incremental-key updated_at --sql-exclude-columns secret
expect_sql dst "SELECT count(*), sum(amount), max(updated_at) FROM raw.orders" "1000|625625.00|2024-01-01 16:40:00"
expect_sql dst "SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'secret'" "0"
mysql_sql shop "INSERT INTO shop.orders SELECT seq, 'late', 1, '2024-01-02', 'y' FROM seq_1001_to_1010;"
expect_ok ingest --source-uri "$MY_URI/shop" --source-table orders --dest-uri "$PG_URI/dst" --dest-table raw.orders \
  --incremental-key updated_at --sql-exclude-columns secret --log-level debug
expect_err_contains "WHERE \"updated_at\" >= '2024-01-01 16:40:00"
expect_sql dst "SELECT count(*), count(DISTINCT id) FROM raw.orders" "1010|1010"

# --- merge by the primary key the source declares --------------------------------------------------
expect_ok ingest --source-uri "$MY_URI/shop" --source-table orders --dest-uri "$PG_URI/dst" --dest-table raw.merged \
  --incremental-strategy merge --incremental-key updated_at
mysql_sql "UPDATE shop.orders SET amount = 0, updated_at = '2024-02-01' WHERE id IN (5, 6);"
expect_ok ingest --source-uri "$MY_URI/shop" --source-table orders --dest-uri "$PG_URI/dst" --dest-table raw.merged \
  --incremental-strategy merge --incremental-key updated_at
expect_sql dst "SELECT count(*), sum(amount) FROM raw.merged" "1010|$(mysql_sql "SELECT sum(amount) FROM shop.orders")"
expect_sql dst "SELECT string_agg(a.attname, ',') FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'raw.merged'::regclass AND i.indisprimary" "id"

# --- the example of docs/connectors/mysql.md, as written (its hosts are this test's servers) -------
awk '/^```yaml/ && !done { on = 1; next } /^```/ && on { on = 0; done = 1 } on' "$ROOT/docs/connectors/mysql.md" |
  sed "s/@db:3306/@127.0.0.1:$MYPORT/; s/@warehouse:5432/@127.0.0.1:$PGPORT/" >"$WORK/doc-example.yaml"
[ -s "$WORK/doc-example.yaml" ] || fail "docs/connectors/mysql.md has no example"
MYSQL_PASSWORD=app-secret-pw PG_PASSWORD=app-secret-pw expect_ok run "$WORK/doc-example.yaml"
expect_sql dst "SELECT count(*), sum(amount) FROM raw.orders" "1010|$(mysql_sql "SELECT sum(amount) FROM shop.orders")"

# --- columns, an interval, sql-limit in key order (ids 5 and 6 moved to the end above) ----------
cat >"$WORK/window.yaml" <<YAML
source:
  address: $MY_URI/shop
  options:
    source-table: orders
    columns: [id, updated_at]
    incremental-key: updated_at
    interval-start: "2024-01-01T01:00:00Z"
    interval-end: "2024-01-01T02:00:00Z"
sink:
  address: sqlite:///$WORK/w.db
  options: {dest-table: main.window, incremental-strategy: append}
YAML
expect_ok run "$WORK/window.yaml"
expect_query w.db "SELECT count(*), min(id), max(id) FROM window" "60|60|119"
expect_query w.db "SELECT count(*) FROM pragma_table_info('window') WHERE name NOT LIKE '_nilus%'" "2"
expect_ok ingest --source-uri "$MY_URI/shop" --source-table orders --dest-uri "sqlite:///$WORK/w.db" \
  --dest-table main.limited --incremental-key updated_at --sql-limit 100
expect_ok ingest --source-uri "$MY_URI/shop" --source-table orders --dest-uri "sqlite:///$WORK/w.db" \
  --dest-table main.limited --incremental-key updated_at --sql-limit 100
expect_query w.db "SELECT count(*), count(DISTINCT id), max(id) FROM limited" "200|200|202"

# --- parallel ranges from one point in time, while the table is written ----------------------------
# Transfers move amounts between the first and the last quarter of the keys and add rows in
# pairs: a copy that mixed moments would break the total or the parity.
mysql_sql shop "CREATE TABLE shop.acct (id bigint PRIMARY KEY, bal bigint NOT NULL, pad varchar(200));
INSERT INTO shop.acct SELECT seq, 100, repeat('p', 150) FROM seq_1_to_400000;
ANALYZE TABLE shop.acct;" >/dev/null
total=$(mysql_sql "SELECT sum(bal) FROM shop.acct")
writer() {
  local i=0
  while true; do
    i=$((i + 1))
    mysql_sql shop "START TRANSACTION;
      UPDATE acct SET bal = bal - 1 WHERE id = $((RANDOM % 100000 + 1));
      UPDATE acct SET bal = bal + 1 WHERE id = $((RANDOM % 100000 + 300001));
      INSERT INTO acct VALUES ($((1000000 + 2 * i)), 0, 'x'), ($((1000001 + 2 * i)), 0, 'y');
      COMMIT;" || break
  done
}
writer &
wpid=$!
while [ "$(mysql_sql "SELECT count(*) FROM shop.acct WHERE id > 1000000")" -lt 20 ]; do sleep 0.05; done
expect_ok ingest --source-uri "$MY_URI/shop" --source-table acct --dest-uri "$PG_URI/dst" --dest-table copy.acct \
  --extract-parallelism 4 --log-level debug
kill "$wpid" 2>/dev/null || true
wait "$wpid" 2>/dev/null || true
expect_err_contains "in 4 parts from one snapshot"
expect_err_contains "mysql snapshot at binlog binlog.0000"
expect_sql dst "SELECT sum(bal), count(*) % 2, count(*) = count(DISTINCT id), count(*) > 400000 FROM copy.acct" "$total|0|t|t"

# a user without RELOAD cannot take the lock: one connection, and the log says why
mysql_sql "CREATE USER reader@'%' IDENTIFIED BY 'reader-pw'; GRANT SELECT ON shop.* TO reader@'%';"
expect_ok ingest --source-uri "mysql://reader:reader-pw@127.0.0.1:$MYPORT/shop" --source-table acct \
  --dest-uri "$PG_URI/dst" --dest-table copy.acct_one --extract-parallelism 4
expect_err_contains "reading table acct on one connection: the user may not take the global read lock"
expect_err_contains "RELOAD"
expect_sql dst "SELECT count(*) = $(mysql_sql "SELECT count(*) FROM shop.acct") FROM copy.acct_one" "t"

# --- a stop mid-read: exit 130, nothing committed ----------------------------------------------------
# (a query that takes a while to stream: SLEEP per row)
"$NILUS_BIN" ingest --source-uri "$MY_URI/shop" --source-table "query:SELECT id, bal FROM acct WHERE SLEEP(0.0002) = 0" \
  --dest-uri "sqlite:///$WORK/stop.db" --dest-table main.acct --page-size 1000 >"$WORK/stop.log" 2>&1 &
npid=$!
# once the read is under way
wait_for "the read to start" \
  '[ "$(mysql_sql "SELECT count(*) FROM information_schema.PROCESSLIST WHERE USER = '"'app'"' AND INFO LIKE '"'SELECT%acct%'"'")" -gt 0 ]'
kill -TERM "$npid"
set +e
wait "$npid"
rc=$?
set -e
[ "$rc" -eq 130 ] || { cat "$WORK/stop.log" >&2; fail "a stopped read exited $rc, expected 130"; }
CHECKS=$((CHECKS + 1))
expect_query stop.db "SELECT count(*) FROM sqlite_master WHERE name = 'acct'" "0"
# the server ends the session that was reading (it notices the client gone at its next write)
wait_for "the stopped read's session to end" \
  '[ "$(mysql_sql "SELECT count(*) FROM information_schema.PROCESSLIST WHERE USER = '"'app'"'")" = 0 ]'
CHECKS=$((CHECKS + 1))

# --- bad input ------------------------------------------------------------------------------------
expect_exit 2 ingest --source-uri "mysql://app:wrong-pw@127.0.0.1:$MYPORT/shop" --source-table orders \
  --dest-uri "sqlite:///$WORK/bad.db" --dest-table main.orders
expect_err_contains "cannot log in to mysql at 127.0.0.1:$MYPORT/shop"
expect_err_lacks "wrong-pw"
expect_exit 1 ingest --source-uri "$MY_URI/shop" --source-table nosuch --dest-uri "sqlite:///$WORK/bad.db" \
  --dest-table main.orders
expect_err_contains "table shop.nosuch does not exist"
expect_exit 2 ingest --source-uri "$MY_URI" --source-table orders --dest-uri "sqlite:///$WORK/bad.db" \
  --dest-table main.orders
expect_err_contains "names no database"
expect_exit 2 ingest --source-uri "$MY_URI/shop" --source-table orders --dest-uri "sqlite:///$WORK/bad.db" \
  --dest-table main.orders --columns id,nosuch
expect_err_contains "nosuch"
expect_exit 1 ingest --source-uri "mariadb://app:app-secret-pw@127.0.0.1:$(free_port)/shop" --source-table orders \
  --dest-uri "sqlite:///$WORK/bad.db" --dest-table main.orders
expect_err_contains "check that the server runs"
done_ok
