# Parent and child rows of one load commit together: a load of nested JSONL killed with SIGKILL
# leaves the root table, its child tables, the schema and the state as they were; the next run
# loads every document and every array item exactly once.
source "$(dirname "$0")/lib.sh"
mkdir in
# gen_docs FILE FIRST COUNT: documents with a nested object and 1–3 items each (item count = id % 3 + 1).
gen_docs() {
  awk -v first="$2" -v n="$3" 'BEGIN {
    for (i = first; i < first + n; i++) {
      items = "";
      for (k = 0; k <= i % 3; k++) items = items (k ? "," : "") sprintf("{\"sku\":\"s%d-%d\",\"qty\":%d}", i, k, k + 1);
      printf "{\"id\":%d,\"customer\":{\"name\":\"c%d\",\"vip\":%s},\"items\":[%s]}\n", i, i % 97, (i % 2 ? "true" : "false"), items;
    }
  }' >"$1"
}
gen_docs in/a.jsonl 1 1000
dst="sqlite:///$WORK/dst.db"
cat >nested.yaml <<YAML
source:
  address: jsonl://$WORK/in/*.jsonl
  options: {max-table-nesting: 1, page-size: 5000}
sink:
  address: $dst
  options: {dest-table: raw.docs, incremental-strategy: append}
YAML
expect_ok run nested.yaml
snapshot() {
  q dst.db "SELECT count(*), sum(id) FROM raw__docs; SELECT count(*), sum(qty) FROM raw__docs__items;
            SELECT * FROM _nilus_state; SELECT count(*) FROM _nilus_loads;
            SELECT group_concat(name) FROM pragma_table_info('raw__docs');"
}
before=$(snapshot)
state_before=$("$NILUS_BIN" state show nested)

gen_docs in/b.jsonl 1001 400000
start_load dst.db-wal run nested.yaml
stop_load KILL 137
[ "$(snapshot)" = "$before" ] || fail "after SIGKILL the destination changed: $(snapshot)"
[ "$("$NILUS_BIN" state show nested)" = "$state_before" ] || fail "after SIGKILL the local state changed"
CHECKS=$((CHECKS + 2))

expect_ok run nested.yaml
# expected counts, computed from the generator's rule rather than by Nilus
expect_query dst.db "SELECT count(*), count(DISTINCT id), sum(id) FROM raw__docs" \
  "$(awk 'BEGIN { for (i = 1; i <= 401000; i++) s += i; printf "401000|401000|%.0f", s }')"
expect_query dst.db "SELECT count(*) FROM raw__docs__items" \
  "$(awk 'BEGIN { for (i = 1; i <= 401000; i++) n += i % 3 + 1; print n }')"
expect_query dst.db "SELECT count(*) FROM raw__docs__items i LEFT JOIN raw__docs d ON d._nilus_id = i._nilus_parent_id WHERE d.id IS NULL" "0"
expect_query dst.db "SELECT d.id, i._nilus_list_idx, i.sku, i.qty FROM raw__docs__items i JOIN raw__docs d ON d._nilus_id = i._nilus_parent_id WHERE d.id = 400001 ORDER BY 2" \
"400001|0|s400001-0|1
400001|1|s400001-1|2
400001|2|s400001-2|3"
expect_query dst.db "SELECT customer__name, customer__vip FROM raw__docs WHERE id = 400001" "c$((400001 % 97))|1"
done_ok
