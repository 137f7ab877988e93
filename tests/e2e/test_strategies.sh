# append, replace and merge into SQLite, run after run, checked row by row.
source "$(dirname "$0")/lib.sh"
mkdir data
cat >data/v1.csv <<'CSV'
id,name,score
1,alpha,10
2,beta,20
3,gamma,30
CSV
cat >data/v2.csv <<'CSV'
id,name,score
2,beta,21
4,delta,40
2,beta,22
CSV
db="sqlite:///$WORK/dest.db"
run() { expect_ok ingest --source-uri "file://$WORK/data/$1" --dest-uri "$db" --dest-table s.t "${@:2}"; }

# append: every run adds its rows.
run v1.csv --incremental-strategy append
run v2.csv --incremental-strategy append
expect_query dest.db "SELECT id, name, score FROM s__t ORDER BY id, score" \
"1|alpha|10
2|beta|20
2|beta|21
2|beta|22
3|gamma|30
4|delta|40"
expect_query dest.db "SELECT count(DISTINCT _nilus_load_id) FROM s__t" "2"

# replace: only the last load's rows remain, and the table is swapped in one transaction.
run v1.csv --incremental-strategy replace
expect_query dest.db "SELECT id, name, score FROM s__t ORDER BY id" \
"1|alpha|10
2|beta|20
3|gamma|30"
expect_query dest.db "SELECT count(*) FROM sqlite_schema WHERE name LIKE '%nilus_new%'" "0"

# merge: upsert by key; the last row of a key within a load wins.
run v2.csv --incremental-strategy merge --primary-key id
expect_query dest.db "SELECT id, name, score FROM s__t ORDER BY id" \
"1|alpha|10
2|beta|22
3|gamma|30
4|delta|40"
# a merge into a new table creates its primary key
expect_ok ingest --source-uri "file://$WORK/data/v2.csv" --dest-uri "$db" --dest-table s.keyed \
  --incremental-strategy merge --primary-key id
expect_query dest.db "SELECT id, score FROM s__keyed ORDER BY id" "2|22
4|40"
expect_query dest.db "SELECT name FROM pragma_table_info('s__keyed') WHERE pk > 0" "id"
# running again finds the file already loaded (the state lists it) and changes nothing
run v2.csv --incremental-strategy merge --primary-key id
expect_query dest.db "SELECT count(*), sum(score) FROM s__t" "4|102"

# the bookkeeping: one load record per run, one state row per pipeline
expect_query dest.db "SELECT strategy, rows FROM _nilus_loads WHERE table_name = 's.t' ORDER BY finished_at" \
"append|3
append|3
replace|3
merge|3
merge|0"
expect_query dest.db "SELECT pipeline, table_name FROM _nilus_state ORDER BY pipeline" "s.keyed|s.keyed
s.t|s.t"

# Readers during a replace of real size: a reader that holds a transaction open across the
# replace keeps seeing the old table; readers that come and go see the old or the new table,
# whole, never none, never an error (WAL mode: readers do not wait for the writer).
gen_orders data/old.csv 1 200000
gen_orders data/new.csv 1 300000
replace_big() { "$NILUS_BIN" ingest --source-uri "file://$WORK/data/$1" --dest-uri "$db" --dest-table s.big \
  --incremental-strategy replace >/dev/null 2>"$WORK/err.replace"; }
replace_big old.csv
mkfifo reader.in
sqlite3 -batch dest.db <reader.in >reader.out 2>&1 &
reader=$!
exec 3>reader.in
# (.timeout: a busy moment of a loaded machine must not fail the reader.)
echo ".timeout 10000
BEGIN; SELECT 'before', count(*) FROM s__big;" >&3
replace_big new.csv &
replacing=$!
polls=0
while kill -0 "$replacing" 2>/dev/null; do
  n=$(sqlite3 -batch -cmd ".timeout 10000" dest.db "SELECT count(*) FROM s__big" 2>&1)
  case "$n" in
    200000|300000) polls=$((polls + 1)) ;;
    *) fail "a reader saw '$n' during the replace" ;;
  esac
done
wait "$replacing" || { cat "$WORK/err.replace" >&2; fail "the replace failed"; }
echo "SELECT 'during', count(*) FROM s__big; COMMIT; SELECT 'after', count(*) FROM s__big;" >&3
exec 3>&-
wait "$reader" || { cat reader.out >&2; fail "the reader that held its transaction failed"; }
expect_output "the reader that held its transaction" "before|200000
during|200000
after|300000" cat reader.out
[ "$polls" -gt 0 ] || fail "no reader ran during the replace"
echo "$polls readers ran during the replace"
expect_query dest.db "SELECT count(*), min(id), max(id) FROM s__big" "300000|1|300000"
done_ok
