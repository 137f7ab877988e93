# Parallel extraction reads exactly one snapshot while the source is being written: transfers
# between rows in different ranges keep the total, inserts come in pairs; a copy mixing moments
# would break either.
source "$(dirname "$0")/pg_lib.sh"
pg_start
sql "CREATE DATABASE src" >/dev/null
sql "CREATE DATABASE dst" >/dev/null
sql src "CREATE TABLE acct (id bigint PRIMARY KEY, bal bigint NOT NULL, pad text);
CREATE SEQUENCE ids START 1000001;
INSERT INTO acct SELECT i, 100, repeat('p', 60) FROM generate_series(1, 400000) i;" >/dev/null
sql src "VACUUM ANALYZE acct" >/dev/null
cat >"$WORK/transfer.sql" <<'SQL'
\set a random(1, 100000)
\set b random(300001, 400000)
BEGIN;
UPDATE acct SET bal = bal - 1 WHERE id = :a;
UPDATE acct SET bal = bal + 1 WHERE id = :b;
INSERT INTO acct VALUES (nextval('ids'), 0, 'x'), (nextval('ids'), 0, 'y');
END;
SQL
total=$(sql src "SELECT sum(bal) FROM acct")

writer() {
  pgbench -n -c 2 -t 100000 -f "$WORK/transfer.sql" src >/dev/null 2>&1
}
for attempt in 1 2; do
  writer &
  wpid=$!
  # let the writer get going, so the copy overlaps it
  while [ "$(sql src "SELECT count(*) FROM acct WHERE id > 1000000")" -lt 200 ]; do sleep 0.05; done
  expect_ok ingest --source-uri "$PG_URI/src" --source-table public.acct --dest-uri "$PG_URI/dst" \
    --dest-table copy.acct$attempt --extract-parallelism 4
  kill "$wpid" 2>/dev/null || true
  wait "$wpid" 2>/dev/null || true
  expect_err_contains "in 4 parts from one snapshot"
  expect_sql dst "SELECT sum(bal), count(*) % 2, count(*) = count(DISTINCT id) FROM copy.acct$attempt" "$total|0|t"
  expect_sql dst "SELECT count(*) > 400000 FROM copy.acct$attempt" "t"
done

# without a usable key, ctid ranges; a query is read whole
sql src "CREATE TABLE nokey AS SELECT i AS n, repeat('q', 80) AS pad FROM generate_series(1, 300000) i" >/dev/null
expect_ok ingest --source-uri "$PG_URI/src" --source-table public.nokey --dest-uri "$PG_URI/dst" \
  --dest-table copy.nokey --extract-parallelism 3 --log-level debug
expect_err_contains "ctid >= "
expect_sql dst "SELECT count(*), count(DISTINCT n), sum(n) FROM copy.nokey" "300000|300000|45000150000"
done_ok
