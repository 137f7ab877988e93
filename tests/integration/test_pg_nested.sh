# Nested JSONL into PostgreSQL: child tables, their links and merge; and schema evolution of a
# typed source: a PostgreSQL column whose type changes gets a variant column. Read back with psql.
source "$(dirname "$0")/pg_lib.sh"
pg_start
sql "CREATE DATABASE dst" >/dev/null
sql "CREATE DATABASE src" >/dev/null
dst="$PG_URI/dst"
mkdir in
cat >in/1.jsonl <<'JSON'
{"orderId": 1, "customer": {"name": "Ada", "tags": ["vip"]}, "items": [{"sku": "A", "qty": 2, "opts": {"gift": true}}, {"sku": "B", "qty": 1}], "meta": {"a": {"b": {"c": 1}}}}
{"orderId": 2, "customer": {"name": "Grace"}, "items": [{"sku": "C", "qty": 5}]}
JSON
cat >nested.yaml <<YAML
source:
  address: jsonl://$WORK/in/*.jsonl
  options: {max-table-nesting: 2}
sink:
  address: $dst
  options: {dest-table: raw.orders, incremental-strategy: merge, primary-key: orderId}
YAML
expect_ok run nested.yaml
expect_sql dst "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'raw.orders'::regclass AND attnum > 0" \
  "order_id bigint, customer__name text, meta__a__b jsonb, _nilus_id uuid, _nilus_load_id text"
expect_sql dst "SELECT order_id, customer__name, meta__a__b FROM raw.orders ORDER BY 1" '1|Ada|{"c": 1}
2|Grace|'
expect_sql dst "SELECT o.order_id, i._nilus_list_idx, i.sku, i.qty, i.opts__gift FROM raw.orders__items i JOIN raw.orders o ON o._nilus_id = i._nilus_parent_id ORDER BY 1, 2" \
  "1|0|A|2|t
1|1|B|1|
2|0|C|5|"
expect_sql dst "SELECT o.order_id, t.value FROM raw.orders__customer__tags t JOIN raw.orders o ON o._nilus_id = t._nilus_root_id" "1|vip"

# a new version of order 1: its row and all its child rows are replaced, in one transaction
cat >in/2.jsonl <<'JSON'
{"orderId": 1, "customer": {"name": "Ada L."}, "items": [{"sku": "Z", "qty": 9}]}
JSON
expect_ok run nested.yaml
expect_sql dst "SELECT o.order_id, o.customer__name, i.sku FROM raw.orders o JOIN raw.orders__items i ON i._nilus_root_id = o._nilus_id ORDER BY 1, i._nilus_list_idx" \
  "1|Ada L.|Z
2|Grace|C"
expect_sql dst "SELECT count(*) FROM raw.orders__customer__tags" "0"
expect_sql dst "SELECT count(*) FROM raw.orders__items i LEFT JOIN raw.orders o ON o._nilus_id = i._nilus_parent_id WHERE o.order_id IS NULL" "0"

# replace swaps the table and its child tables in together, and empties those the data lacks
sed -i 's/incremental-strategy: merge, primary-key: orderId/incremental-strategy: replace/' nested.yaml
rm in/1.jsonl
expect_ok run nested.yaml
expect_sql dst "SELECT o.order_id, i.sku FROM raw.orders o JOIN raw.orders__items i ON i._nilus_parent_id = o._nilus_id" "1|Z"
expect_sql dst "SELECT (SELECT count(*) FROM raw.orders), (SELECT count(*) FROM raw.orders__items), (SELECT count(*) FROM raw.orders__customer__tags)" "1|1|0"

# a typed source whose column changes type: values that fit stay, the others go to a variant
sql src "CREATE TABLE t (id bigint PRIMARY KEY, \"Code\" integer); INSERT INTO t VALUES (1, 10), (2, 20)" >/dev/null
typed() { expect_ok ingest --source-uri "$PG_URI/src" --source-table public.t --dest-uri "$dst" --dest-table raw.t --incremental-strategy append "$@"; }
typed
expect_err_contains "'Code' is stored as 'code'"
sql src "ALTER TABLE t ALTER COLUMN \"Code\" TYPE text; INSERT INTO t VALUES (3, '30'), (4, 'X-4')" >/dev/null
sql src "DELETE FROM t WHERE id < 3" >/dev/null
typed
expect_sql dst "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'raw.t'::regclass AND attnum > 0" \
  "id bigint, code integer, _nilus_load_id text, code__v_text text"
expect_sql dst "SELECT id, code, code__v_text FROM raw.t ORDER BY id" "1|10|
2|20|
3|30|
4||X-4"
done_ok
