# nilus state show|reset, and secrets that never appear in output.
source "$(dirname "$0")/lib.sh"
gen_orders a.csv 1 10
dst="sqlite:///$WORK/dst.db"
expect_ok ingest --source-uri "file://$WORK/a.csv" --dest-uri "$dst" --dest-table raw.o

expect_ok state show
grep -q '"pipeline": "raw.o"' out || fail "state show lists no pipeline: $(cat out)"
expect_ok state show raw.o
grep -q "a.csv" out || fail "state show raw.o has no file list"
expect_exit 2 state show nope
expect_err_contains "no state for pipeline 'nope'"

# reset removes the state in the destination and locally: the next run loads the file again
expect_ok state reset raw.o
expect_query dst.db "SELECT count(*) FROM _nilus_state" "0"
expect_exit 2 state show raw.o
expect_ok ingest --source-uri "file://$WORK/a.csv" --dest-uri "$dst" --dest-table raw.o
expect_query dst.db "SELECT count(*), count(DISTINCT id) FROM raw__o" "20|10"

# --full-refresh ignores the state and replaces the table
expect_ok ingest --source-uri "file://$WORK/a.csv" --dest-uri "$dst" --dest-table raw.o --full-refresh
expect_query dst.db "SELECT count(*), count(DISTINCT id) FROM raw__o" "10|10"

# the local store keeps the destination as written: a placeholder stays, a password written in
# the address does not (and state show never prints one)
export NILUS_TEST_DB=$WORK/dst.db
printf 'source:\n  address: file://%s/a.csv\nsink:\n  address: sqlite:///{NILUS_TEST_DB}?password=pa55w0rd-lit\n  options: {dest-table: raw.p, incremental-strategy: append}\n' "$WORK" >placeholder.yaml
expect_ok run placeholder.yaml
expect_ok state show placeholder
grep -q '"destination": "sqlite:///{NILUS_TEST_DB}?password="' out || fail "state show: $(cat out)"
expect_err_lacks "pa55w0rd-lit"
[ "$(sqlite3 "$NILUS_HOME/state.db" "SELECT count(*) FROM pipeline_state WHERE destination LIKE '%pa55w0rd%'")" = 0 ] ||
  fail "the local store keeps a password"
CHECKS=$((CHECKS + 1))

# JSON logs: one object per line
expect_ok ingest --source-uri "file://$WORK/a.csv" --dest-uri "$dst" --dest-table raw.j --log-format json
head -1 err | grep -q '^{"level":"info","msg":' || fail "not a JSON log line: $(head -1 err)"
done_ok
