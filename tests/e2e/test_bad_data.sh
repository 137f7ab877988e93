# A malformed file fails with file, line and reason, and leaves the destination as it was.
source "$(dirname "$0")/lib.sh"
printf 'id,name\n1,a\n2,b\n' >good.csv
dst="sqlite:///$WORK/dst.db"
expect_ok ingest --source-uri "file://$WORK/good.csv" --dest-uri "$dst" --dest-table raw.t
snapshot() {
  q dst.db "SELECT id, name, _nilus_load_id FROM raw__t ORDER BY id; SELECT * FROM _nilus_state; SELECT count(*) FROM _nilus_loads;"
}
before=$(snapshot)
state_before=$("$NILUS_BIN" state show raw.t)

check_rejected() {  # check_rejected FILE LOCATION REASON
  expect_exit 2 ingest --source-uri "file://$WORK/$1" --dest-uri "$dst" --dest-table raw.t --incremental-strategy "${4:-append}"
  expect_err_contains "$2"
  expect_err_contains "$3"
  [ "$(snapshot)" = "$before" ] || fail "the destination changed after a rejected load of $1"
  [ "$("$NILUS_BIN" state show raw.t)" = "$state_before" ] || fail "the local state changed after a rejected load of $1"
}

# wrong field count, far enough in that earlier rows were already written
{ echo "id,name"; for i in $(seq 3 200); do echo "$i,n$i"; done; echo "201,x,extra"; } >fields.csv
check_rejected fields.csv "fields.csv:200:" "3 fields, but the header has 2"
check_rejected fields.csv "fields.csv:200:" "3 fields" replace

# invalid UTF-8
printf 'id,name\n3,ok\n4,caf\xe9\n' >latin1.csv
check_rejected latin1.csv "latin1.csv:3:" "invalid UTF-8"

# unterminated quote: the line where it opened
printf 'id,name\n3,ok\n4,"never closed\n5,x\n' >quote.csv
check_rejected quote.csv "quote.csv:" "unterminated quoted field (the quote opened on line 3"

# a value that does not fit its hinted type: where, which column, the value
printf 'id,name\n3,ok\nfour,x\n' >typed.csv
expect_exit 2 ingest --source-uri "file://$WORK/typed.csv" --dest-uri "$dst" --dest-table raw.t --type-hints id:bigint
expect_err_contains "typed.csv:3: column 'id': 'four' is not a bigint value"
[ "$(snapshot)" = "$before" ] || fail "the destination changed after a rejected load"

# malformed JSONL and a corrupt gzip file
printf '{"id": 1}\n{"id": 2,\n' >bad.jsonl
check_rejected bad.jsonl "bad.jsonl:2:" "not valid JSON"
printf 'this is not gzip' >bad.csv.gz
check_rejected bad.csv.gz "bad.csv.gz" "not a valid gzip file"

# a file that does not exist, an unknown extension, a bad encoding option
check_rejected nothere.csv "nothere.csv does not exist" "check the path"
printf 'x' >data.bin
check_rejected data.bin "cannot tell the format of" "csv://"
expect_exit 2 ingest --source-uri "file://$WORK/good.csv?encoding=latin1" --dest-uri "$dst" --dest-table raw.t
expect_err_contains "encoding 'latin1' is not supported"

# a destination that is not a database
printf 'not a database at all, just text that is long enough to not be a header......' >notdb.db
expect_exit 2 ingest --source-uri "file://$WORK/good.csv" --dest-uri "sqlite:///$WORK/notdb.db" --dest-table raw.t
expect_err_contains "is not a SQLite database"

# after all that, a good load still works and sees the old state
printf 'id,name\n9,z\n' >more.csv
expect_ok ingest --source-uri "file://$WORK/more.csv" --dest-uri "$dst" --dest-table raw.t
expect_query dst.db "SELECT group_concat(id) FROM (SELECT id FROM raw__t ORDER BY id)" "1,2,9"
done_ok
