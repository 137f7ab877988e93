# The examples of the README and docs/: the three manifest shapes and the ingest command give
# the same rows as sqlite3's own import of the source file.
source "$(dirname "$0")/lib.sh"
cp -r "$ROOT/examples" "$WORK/examples"
mkdir -p build/quickstart
export OUT_DIR=$WORK/out-dir
mkdir -p "$OUT_DIR"

import_csv ref.db orders examples/data/orders.csv
ref_orders="SELECT order_id, customer, printf('%.2f', amount), currency, paid, ordered_at FROM orders ORDER BY CAST(order_id AS INTEGER)"
dst_orders="SELECT order_id, customer, printf('%.2f', amount), currency, CASE paid WHEN 1 THEN 'true' ELSE 'false' END, replace(replace(ordered_at, ' ', 'T'), '+00:00', 'Z') FROM raw__orders ORDER BY order_id"

# Workflow shape (the quickstart).
expect_ok validate examples/shop-workflow.yaml
grep -q "valid workflow with 2 pipelines" "$WORK/out" || fail "validate output: $(cat "$WORK/out")"
expect_ok run examples/shop-workflow.yaml
expect_same ref.db "$ref_orders" build/quickstart/shop.db "$dst_orders"
expect_query build/quickstart/shop.db "SELECT typeof(amount), amount FROM raw__orders WHERE order_id = 1001" "text|129.90"
expect_query build/quickstart/shop.db "SELECT id, name, vip, address, tags, score FROM raw__customers ORDER BY id" \
'1|Ada Lovelace|1|{"city":"London","zip":"W1"}|["math","poetry"]|
2|Grace Hopper|0|{"city":"Arlington"}|[]|
3|Alan Turing|1||["crypto"]|9.5'
expect_query build/quickstart/shop.db "SELECT count(DISTINCT _nilus_load_id) FROM raw__orders" "1"
expect_query build/quickstart/shop.db "SELECT pipeline, table_name, rows FROM _nilus_loads ORDER BY finished_at" \
"shop.orders|raw.orders|6
shop.customers|raw.customers|3"
# --node runs one node only.
expect_ok run examples/shop-workflow.yaml --node customers
expect_query build/quickstart/shop.db "SELECT count(*) FROM _nilus_loads WHERE pipeline = 'shop.customers'" "2"
expect_query build/quickstart/shop.db "SELECT count(*) FROM _nilus_loads WHERE pipeline = 'shop.orders'" "1"

# Bare stackSpec shape, with an {ENV} placeholder in the address.
expect_ok run examples/orders-stackspec.yaml
expect_same ref.db "$ref_orders" "$OUT_DIR/orders.db" "$dst_orders"
grep -q "raw.orders" "$WORK/out" || fail "no summary"
grep -q "load id" "$WORK/out" || fail "summary has no load id"

# Service shape: replace the same table.
expect_ok run examples/orders-service.yaml
expect_same ref.db "$ref_orders" "$OUT_DIR/orders.db" "$dst_orders"

# The README's worked example, as written there (relative paths).
expect_ok ingest --source-uri file://examples/data/orders.csv --source-table orders \
                 --dest-uri sqlite:///shop.db --dest-table raw.orders
grep -q "Loaded 1 table, 6 rows" out || fail "README summary: $(cat out)"
expect_query shop.db "SELECT order_id, customer, amount FROM raw__orders LIMIT 2" "1001|Ada Lovelace|129.9
1002|Grace Hopper|15.0"
expect_same ref.db "$ref_orders" shop.db "$dst_orders"
expect_query shop.db "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name" \
"_nilus_loads
_nilus_state
raw__orders"
expect_query shop.db "SELECT group_concat(name || ' ' || type, ', ') FROM pragma_table_info('raw__orders')" \
  "order_id BIGINT, customer TEXT, amount DOUBLE, currency TEXT, paid BOOLEAN, ordered_at TIMESTAMPTZ, ship_date DATE, _nilus_load_id TEXT"
# run again: nothing is loaded twice
expect_ok ingest --source-uri file://examples/data/orders.csv --source-table orders \
                 --dest-uri sqlite:///shop.db --dest-table raw.orders
expect_query shop.db "SELECT count(*) FROM raw__orders" "6"
expect_ok state show raw.orders
grep -q "orders.csv" out || fail "state show raw.orders: $(cat out)"

# docs/schema-evolution.md: the worked example, day one, then day two
export IN_DIR=$WORK/orders-in
mkdir -p "$IN_DIR"
cp examples/evolution/day-1.jsonl "$IN_DIR/"
expect_ok run examples/evolution.yaml
expect_err_contains "column of orders 'orderId' is stored as 'order_id'"
expect_query "$OUT_DIR/evolution.db" "SELECT order_id, placed_at, discount, customer__name, customer__tier FROM raw__orders" \
"1|2024-03-15 10:00:00+00:00|5|Ada|gold
2|2024-03-15 11:30:00+00:00|0|Grace|"
cp examples/evolution/day-2.jsonl "$IN_DIR/"
expect_ok run examples/evolution.yaml
expect_query "$OUT_DIR/evolution.db" "SELECT order_id, placed_at, placed_at__v_text, discount, discount__v_double, channel FROM raw__orders ORDER BY order_id" \
"1|2024-03-15 10:00:00+00:00||5||
2|2024-03-15 11:30:00+00:00||0||
3|2024-03-16 09:00:00+00:00|||12.5|web
4||soon|10||shop"
expect_query "$OUT_DIR/evolution.db" "SELECT o.order_id, i._nilus_list_idx, i.sku, i.qty FROM raw__orders__items i JOIN raw__orders o ON o._nilus_id = i._nilus_parent_id ORDER BY 1, 2" \
"1|0|A-1|2
1|1|B-7|1
3|0|C-3|3
4|0|A-1|1"
expect_ok schema show evolution
for line in "raw.orders: schema version 2" "placed_at                        timestamptz  (source: placedAt)" \
  "orders: added column discount__v_double double (values of discount that are not bigint)" \
  "orders: added column channel text"; do
  grep -qF -- "$line" "$WORK/out" || { cat "$WORK/out" >&2; fail "schema show lacks: $line"; }
done

expect_ok version
grep -q "^nilus " "$WORK/out" || fail "version output"
for cmd in run ingest validate state schema version; do
  expect_ok "$cmd" --help
done
done_ok
