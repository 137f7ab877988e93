# PostgreSQL -> PostgreSQL: strategies, incremental loads, and the data read back with psql.
source "$(dirname "$0")/pg_lib.sh"
pg_start
sql "CREATE DATABASE src" >/dev/null
sql "CREATE DATABASE dst" >/dev/null
sql src "CREATE TABLE public.orders (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2),
  qty integer, ok boolean, at timestamptz, day date, note varchar(40));
INSERT INTO orders SELECT i, 'c' || i, (i * 1.25)::numeric(12,2), i % 7, i % 2 = 0,
  '2024-01-01 00:00:00+00'::timestamptz + i * interval '1 minute', '2024-01-01'::date + i % 30,
  CASE WHEN i % 5 = 0 THEN NULL ELSE 'n' || i END FROM generate_series(1, 5000) i;" >/dev/null
src="$PG_URI/src"
dst="$PG_URI/dst"
load() { expect_ok ingest --source-uri "$src" --source-table public.orders --dest-uri "$dst" --dest-table raw.orders "$@"; }

load --incremental-strategy append
[ "$(table_digest src public.orders id)" = "$(table_digest dst raw.orders id)" ] || fail "append: tables differ"
CHECKS=$((CHECKS + 1))
# the destination keeps the source's exact types
expect_sql dst "SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'raw.orders'::regclass AND attnum > 0" \
  "bigint,text,numeric(12,2),integer,boolean,timestamp with time zone,date,character varying(40),text"
expect_sql dst "SELECT pipeline, table_name, rows, strategy FROM raw._nilus_loads" "raw.orders|raw.orders|5000|append"

# replace: the same rows again, swapped in
load --incremental-strategy replace
expect_sql dst "SELECT count(*), count(DISTINCT _nilus_load_id) FROM raw.orders" "5000|1"
[ "$(table_digest src public.orders id)" = "$(table_digest dst raw.orders id)" ] || fail "replace: tables differ"

# incremental merge: changed and new rows after the cursor
expect_ok ingest --source-uri "$src" --source-table public.orders --dest-uri "$dst" --dest-table raw.mirror \
  --incremental-strategy merge --primary-key id --incremental-key at
sql src "UPDATE orders SET customer = 'changed', at = at + interval '1 year' WHERE id IN (10, 20);
INSERT INTO orders VALUES (5001, 'new', 1.00, 1, true, '2030-01-01', '2030-01-01', 'x');" >/dev/null
expect_ok ingest --source-uri "$src" --source-table public.orders --dest-uri "$dst" --dest-table raw.mirror \
  --incremental-strategy merge --primary-key id --incremental-key at
expect_sql dst "SELECT rows FROM raw._nilus_loads WHERE table_name = 'raw.mirror' ORDER BY finished_at" "5000
3"
[ "$(table_digest src public.orders id)" = "$(table_digest dst raw.mirror id)" ] || fail "merge: tables differ"
CHECKS=$((CHECKS + 1))
expect_sql dst "SELECT state->'cursor'->>'value' FROM raw._nilus_state WHERE table_name = 'raw.mirror'" "2030-01-01 00:00:00+00:00"

# a new source column is added to the destination
sql src "ALTER TABLE orders ADD COLUMN channel varchar(10); UPDATE orders SET channel = 'web', at = '2031-01-01 00:00:00+00' WHERE id = 7" >/dev/null
expect_ok ingest --source-uri "$src" --source-table public.orders --dest-uri "$dst" --dest-table raw.mirror \
  --incremental-strategy merge --primary-key id --incremental-key at
expect_err_contains "adding column channel"
expect_sql dst "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'raw.mirror'::regclass AND attname = 'channel'" "character varying(10)"
expect_sql dst "SELECT id, channel FROM raw.mirror WHERE channel IS NOT NULL" "7|web"
[ "$(table_digest src public.orders id)" = "$(table_digest dst raw.mirror id)" ] || fail "merge with a new column: tables differ"
CHECKS=$((CHECKS + 1))

# merge without primary-key: the key comes from the source's catalog
expect_ok ingest --source-uri "$src" --source-table public.orders --dest-uri "$dst" --dest-table raw.keyed \
  --incremental-strategy merge
expect_err_contains "merging on the source's primary key (id)"
expect_sql dst "SELECT string_agg(a.attname, ',') FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'raw.keyed'::regclass AND i.indisprimary" "id"
expect_exit 2 ingest --source-uri "$src" --source-table "query:SELECT 1 AS x" --dest-uri "$dst" --dest-table raw.q \
  --incremental-strategy merge
expect_err_contains "declares none"

# a query source, into SQLite and back into PostgreSQL
expect_ok ingest --source-uri "$src" --source-table "query:SELECT id, amount, at, day FROM orders WHERE id <= 100" \
  --dest-uri "sqlite:///$WORK/mid.db" --dest-table main.orders
expect_ok ingest --source-uri "sqlite:///$WORK/mid.db" --source-table orders --dest-uri "$dst" --dest-table back.orders
expect_sql dst "SELECT md5(string_agg(format('%s|%s|%s|%s', id, amount, at, day), ',' ORDER BY id)) FROM back.orders" \
  "$(sql src "SELECT md5(string_agg(format('%s|%s|%s|%s', id, amount, at, day), ',' ORDER BY id)) FROM orders WHERE id <= 100")"

# sql-reflection-level: fast drops type modifiers, none reads every column as text
for level in fast none; do
  cat >"$WORK/reflect-$level.yaml" <<YAML
source:
  address: $src
  options: {source-table: public.orders, sql-reflection-level: $level}
sink:
  address: $dst
  options: {dest-table: reflect.$level, incremental-strategy: replace}
YAML
  expect_ok run "$WORK/reflect-$level.yaml"
done
expect_sql dst "SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'reflect.fast'::regclass AND attnum > 0" \
  "bigint,text,numeric,integer,boolean,timestamp with time zone,date,character varying,character varying,text"
expect_sql dst "SELECT string_agg(DISTINCT format_type(atttypid, atttypmod), ',') FROM pg_attribute WHERE attrelid = 'reflect.none'::regclass AND attnum > 0" "text"
expect_sql dst "SELECT amount, at FROM reflect.none WHERE id = '4'" "5.00|2024-01-01 00:04:00+00"

# errors: a missing table, a wrong password (never shown), an unreachable server
expect_exit 1 ingest --source-uri "$src" --source-table public.nope --dest-uri "$dst" --dest-table raw.x
expect_err_contains "public.nope does not exist"
expect_exit 2 ingest --source-uri "postgresql://app:wrong-pw-123@127.0.0.1:$PGPORT/src" --source-table public.orders \
  --dest-uri "$dst" --dest-table raw.x
expect_err_contains "password authentication failed"
expect_err_lacks "wrong-pw-123"
expect_err_lacks "app-secret-pw"
sql "CREATE ROLE reader LOGIN PASSWORD 'reader-pw'" >/dev/null
expect_exit 1 ingest --source-uri "postgresql://reader:reader-pw@127.0.0.1:$PGPORT/src" --source-table public.orders \
  --dest-uri "$dst" --dest-table raw.x
expect_err_contains "permission denied for table orders"
expect_err_contains "grant the privilege"
unused_port=$(free_port)
expect_exit 1 ingest --source-uri "postgresql://app:app-secret-pw@127.0.0.1:$unused_port/src" --source-table public.orders \
  --dest-uri "$dst" --dest-table raw.x
expect_err_contains "cannot connect to PostgreSQL at 127.0.0.1:$unused_port/src"
expect_err_contains "retrying"
expect_err_lacks "app-secret-pw"
done_ok
