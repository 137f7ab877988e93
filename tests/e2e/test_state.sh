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

# a secret from the environment never appears in errors or logs
export NILUS_TEST_TOKEN=s3cr3t-t0ken-value
expect_exit 2 ingest --source-uri "file:///nowhere/{NILUS_TEST_TOKEN}/x.csv" --dest-uri "$dst" --dest-table raw.s --log-level debug
expect_err_contains "does not exist"
expect_err_contains "***"
expect_err_lacks "s3cr3t-t0ken-value"
# nor a password in an address
expect_exit 2 ingest --source-uri "foo://user:pa55w0rd-xyz@db.example:5432/app" --dest-uri "$dst" --dest-table raw.s
expect_err_lacks "pa55w0rd-xyz"
expect_err_contains "user:***@db.example"

# JSON logs: one object per line
expect_ok ingest --source-uri "file://$WORK/a.csv" --dest-uri "$dst" --dest-table raw.j --log-format json
head -1 err | grep -q '^{"level":"info","msg":' || fail "not a JSON log line: $(head -1 err)"
done_ok
