# Schema evolution run after run: JSONL files whose fields appear, disappear, change type and nest
# are loaded into SQLite; after each run sqlite3 shows the columns, variant columns, child tables,
# their links and the values.
source "$(dirname "$0")/lib.sh"
dst="sqlite:///$WORK/dst.db"
cols() { q dst.db "SELECT group_concat(name || ' ' || type, ', ') FROM pragma_table_info('$1')"; }
cat >run.yaml <<YAML
source:
  address: jsonl://$WORK/in/*.jsonl
  options:
    max-table-nesting: 1
sink:
  address: $dst
  options: {dest-table: raw.orders, incremental-strategy: append}
YAML
# each run picks up the new file of the glob
load() { mkdir -p in && cp "$1" in/ && expect_ok run run.yaml; }

# run 1: camelCase names, an ISO timestamp string, a nested object and an array of objects
cat >r1.jsonl <<'JSON'
{"orderId": 1, "placedAt": "2024-03-15T10:00:00Z", "discount": 5, "customer": {"firstName": "Ada", "tier": "gold"}, "items": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}]}
{"orderId": 2, "placedAt": "2024-03-16T11:30:00Z", "discount": 0, "customer": {"firstName": "Grace"}, "items": []}
JSON
load r1.jsonl
expect_err_contains "'orderId' is stored as 'order_id'"
expect_output "columns" "order_id BIGINT, placed_at TIMESTAMPTZ, discount BIGINT, customer__first_name TEXT, customer__tier TEXT, _nilus_id UUID, _nilus_load_id TEXT" cols raw__orders
expect_output "columns" "sku TEXT, qty BIGINT, _nilus_id UUID, _nilus_parent_id UUID, _nilus_list_idx BIGINT, _nilus_root_id UUID, _nilus_load_id TEXT" cols raw__orders__items
expect_query dst.db "SELECT order_id, placed_at, discount, customer__first_name, quote(customer__tier) FROM raw__orders ORDER BY order_id" \
"1|2024-03-15 10:00:00+00:00|5|Ada|'gold'
2|2024-03-16 11:30:00+00:00|0|Grace|NULL"
# child rows point at their parent row, in array order
expect_query dst.db "SELECT o.order_id, i._nilus_list_idx, i.sku, i.qty FROM raw__orders__items i JOIN raw__orders o ON o._nilus_id = i._nilus_parent_id ORDER BY 1, 2" \
"1|0|A|2
1|1|B|1"
expect_query dst.db "SELECT count(DISTINCT _nilus_id), count(*) FROM (SELECT _nilus_id FROM raw__orders UNION ALL SELECT _nilus_id FROM raw__orders__items)" "4|4"

# run 2: discount becomes a fraction for one order (a variant column), a field disappears
# (customer.tier: the column stays, NULL), a new field appears, and items carry a new field
cat >r2.jsonl <<'JSON'
{"orderId": 3, "placedAt": "2024-04-01T09:00:00Z", "discount": 12.5, "customer": {"firstName": "Alan"}, "channel": "web", "items": [{"sku": "C", "qty": 3, "giftWrap": true}]}
{"orderId": 4, "placedAt": "2024-04-02T09:00:00Z", "discount": 15, "customer": {"firstName": "Edsger"}, "channel": "shop", "items": [{"sku": "D", "qty": 1}]}
JSON
load r2.jsonl
expect_output "columns" "order_id BIGINT, placed_at TIMESTAMPTZ, discount BIGINT, customer__first_name TEXT, customer__tier TEXT, _nilus_id UUID, _nilus_load_id TEXT, discount__v_double DOUBLE, channel TEXT" cols raw__orders
expect_query dst.db "SELECT order_id, quote(discount), quote(discount__v_double), quote(customer__tier), quote(channel) FROM raw__orders ORDER BY order_id" \
"1|5|NULL|'gold'|NULL
2|0|NULL|NULL|NULL
3|NULL|12.5|NULL|'web'
4|15|NULL|NULL|'shop'"
expect_query dst.db "SELECT sku, quote(gift_wrap) FROM raw__orders__items ORDER BY sku" "A|NULL
B|NULL
C|1
D|NULL"

# run 3: a timestamp that is not one, a number where text was, a nested value where a number was
cat >r3.jsonl <<'JSON'
{"orderId": 5, "placedAt": "yesterday", "discount": 1, "customer": {"firstName": 42}, "items": [{"sku": "E", "qty": {"n": 2}}]}
JSON
load r3.jsonl
expect_query dst.db "SELECT quote(placed_at), placed_at__v_text, customer__first_name FROM raw__orders WHERE order_id = 5" "NULL|yesterday|42"
expect_output "item columns" "sku TEXT, qty BIGINT, _nilus_id UUID, _nilus_parent_id UUID, _nilus_list_idx BIGINT, _nilus_root_id UUID, _nilus_load_id TEXT, gift_wrap BOOLEAN, qty__v_json JSON_TEXT" cols raw__orders__items
expect_query dst.db "SELECT quote(qty), qty__v_json FROM raw__orders__items WHERE sku = 'E'" 'NULL|{"n":2}'
# every row landed once, and every child row still has its parent
expect_query dst.db "SELECT count(*), count(DISTINCT order_id) FROM raw__orders" "5|5"
expect_query dst.db "SELECT count(*) FROM raw__orders__items i LEFT JOIN raw__orders o ON o._nilus_id = i._nilus_parent_id WHERE o.order_id IS NULL" "0"

# the schema's history: one version per run that changed it, with what changed
expect_ok schema show run
grep -q "raw.orders: schema version 3" "$WORK/out" || { cat "$WORK/out" >&2; fail "schema show: not at version 3"; }
for line in "order_id                         bigint  (source: orderId)" \
  "added column discount__v_double double (values of discount that are not bigint)" \
  "raw.orders__items (child table of raw.orders)" "added column placed_at__v_text text" \
  "version 2, load"; do
  grep -qF -- "$line" "$WORK/out" || { cat "$WORK/out" >&2; fail "schema show lacks: $line"; }
  CHECKS=$((CHECKS + 1))
done
expect_exit 2 schema show nope
expect_err_contains "no schema recorded for pipeline 'nope'"

# merge: a new version of an order replaces its row and its child rows
cat >merge.yaml <<YAML
source:
  address: jsonl://$WORK/merge/*.jsonl
  options: {max-table-nesting: 1}
sink:
  address: $dst
  options: {dest-table: raw.merged, incremental-strategy: merge, primary-key: orderId}
YAML
mkdir merge && cp r1.jsonl merge/ && expect_ok run merge.yaml
cat >merge/r2.jsonl <<'JSON'
{"orderId": 1, "items": [{"sku": "Z", "qty": 9}]}
{"orderId": 1, "items": [{"sku": "Y", "qty": 8}, {"sku": "X", "qty": 7}]}
JSON
expect_ok run merge.yaml
expect_query dst.db "SELECT o.order_id, i.sku FROM raw__merged o LEFT JOIN raw__merged__items i ON i._nilus_root_id = o._nilus_id ORDER BY 1, i._nilus_list_idx" \
"1|Y
1|X
2|"
expect_query dst.db "SELECT count(*) FROM raw__merged__items" "2"

# replace: the table and every child table are replaced together; a child table the new data
# does not have is emptied, not left with rows whose parents are gone
cat >replace.yaml <<YAML
source:
  address: jsonl://$WORK/replace.jsonl
  options: {max-table-nesting: 1}
sink:
  address: $dst
  options: {dest-table: raw.snap, incremental-strategy: replace}
YAML
printf '{"id": 1, "items": [{"sku": "A"}], "tags": ["x"]}\n{"id": 2, "items": [{"sku": "B"}, {"sku": "C"}]}\n' >replace.jsonl
expect_ok run replace.yaml
expect_query dst.db "SELECT (SELECT count(*) FROM raw__snap), (SELECT count(*) FROM raw__snap__items), (SELECT count(*) FROM raw__snap__tags)" "2|3|1"
printf '{"id": 3, "items": [{"sku": "D"}]}\n' >replace.jsonl
expect_ok run replace.yaml
expect_query dst.db "SELECT s.id, i.sku FROM raw__snap s JOIN raw__snap__items i ON i._nilus_parent_id = s._nilus_id" "3|D"
expect_query dst.db "SELECT (SELECT count(*) FROM raw__snap__items), (SELECT count(*) FROM raw__snap__tags)" "1|0"

# date-detection: false keeps ISO strings as text; type-hints fix a type before inference
printf '{"d": "2024-01-01", "n": "5"}\n' >dates.jsonl
expect_ok ingest --source-uri "jsonl://$WORK/dates.jsonl" --dest-uri "$dst" --dest-table raw.dates --type-hints n:bigint
expect_output "columns" "d DATE, n BIGINT, _nilus_load_id TEXT" cols raw__dates
expect_ok ingest --source-uri "jsonl://$WORK/dates.jsonl" --dest-uri "$dst" --dest-table raw.nodates --date-detection false
expect_output "columns" "d TEXT, n TEXT, _nilus_load_id TEXT" cols raw__nodates
printf '{"n": "five"}\n' >bad.jsonl
expect_exit 2 ingest --source-uri "jsonl://$WORK/bad.jsonl" --dest-uri "$dst" --dest-table raw.dates --type-hints n:bigint
expect_err_contains "bad.jsonl:1"
expect_err_contains "'five' is not a bigint value"
expect_query dst.db "SELECT count(*) FROM raw__dates" "1"

# a table the stored schema does not know (made by hand, or loaded before a state reset) keeps its
# column types: values that do not fit them go to variant columns
q dst.db "CREATE TABLE raw__manual (id BIGINT, amount DOUBLE, _nilus_load_id TEXT)"
printf '{"id": 1, "amount": "n/a"}\n{"id": 2, "amount": 3}\n' >manual.jsonl
expect_ok ingest --source-uri "jsonl://$WORK/manual.jsonl" --dest-uri "$dst" --dest-table raw.manual
expect_err_contains "adopting its columns: id bigint, amount double"
expect_query dst.db "SELECT id, quote(amount), quote(amount__v_text) FROM raw__manual ORDER BY id" "1|NULL|'n/a'
2|3.0|NULL"

# identifiers: collisions resolved deterministically, digits prefixed, long names shortened
long=$(printf 'a%.0s' $(seq 80))
printf '{"userId": 1, "user_id": 2, "2fa": true, "%s": "x"}\n' "$long" >ids.jsonl
expect_ok ingest --source-uri "jsonl://$WORK/ids.jsonl" --dest-uri "$dst" --dest-table Raw.UserIds
expect_err_contains "dest-table 'Raw.UserIds' is stored as 'raw.user_ids'"
expect_query dst.db "SELECT name FROM pragma_table_info('raw__user_ids') ORDER BY cid" "user_id_2
user_id
_2fa
${long:0:54}_$(printf '%s' "$long" | sha256sum | cut -c1-8)
_nilus_load_id"
expect_query dst.db "SELECT user_id_2, user_id FROM raw__user_ids" "1|2"
# The files into the lakehouse in one run (the root and its child table become Iceberg tables)
# and out again through nilus's lakehouse source: the same values as the same files loaded into
# SQLite in one run. (Coming back, names are normalized as any source's: `customer__tier`
# becomes `customer_tier`, and the row ids of the first load stay behind as plain columns.)
sed -e "s|address: $dst|address: lakehouse://$WORK/lake|" run.yaml >lake.yaml
sed -e "s|address: $dst|address: sqlite:///$WORK/once.db|" run.yaml >once.yaml
expect_ok run lake.yaml
expect_ok run once.yaml
for t in orders orders__items; do
  expect_ok ingest --source-uri "lakehouse://$WORK/lake" --source-table "raw.$t" --dest-uri "sqlite:///$WORK/back.db" \
    --dest-table "main.$t"
  columns=$(q once.db "SELECT group_concat(name, ', ') FROM pragma_table_info('raw__$t') WHERE name NOT LIKE '\_nilus\_%' ESCAPE '\\'")
  [ -n "$columns" ] || fail "no columns in raw__$t"
  expect_same once.db "SELECT $columns FROM raw__$t ORDER BY $columns" \
    back.db "SELECT ${columns//__/_} FROM ${t//__/_} ORDER BY ${columns//__/_}"
done
done_ok
