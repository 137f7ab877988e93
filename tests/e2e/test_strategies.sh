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

# a concurrent reader during replace sees either the old or the new table, never none
for i in 1 2 3 4 5 6 7 8; do
  "$NILUS_BIN" ingest --source-uri "file://$WORK/data/v1.csv" --dest-uri "$db" --dest-table s.t \
    --incremental-strategy replace >/dev/null 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    n=$(sqlite3 -batch dest.db "SELECT count(*) FROM s__t" 2>&1 || true)
    case "$n" in
      3|4) ;;
      *database\ is\ locked*) ;;
      *) fail "a reader saw '$n' rows during replace" ;;
    esac
  done
  wait "$pid"
done
expect_query dest.db "SELECT count(*) FROM s__t" "3"
done_ok
