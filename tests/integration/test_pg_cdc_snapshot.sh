#!/usr/bin/env bash
# The initial snapshot of PostgreSQL change data capture, and schema changes mid-stream.
# - A run killed after one table's snapshot committed resumes with the other table, read in
#   parallel parts of a new snapshot; the changes made meanwhile land once: the loaded table
#   streams them, the resumed table's snapshot holds them (and the stream skips them).
# - A dropped column stays in the destination (NULL from then on); a changed type follows
#   Normalize's rules; nothing is snapshotted again.
source "$(dirname "$0")/pg_lib.sh"
pg_start

sql "CREATE DATABASE shop"
sql "CREATE DATABASE replica"
sql shop "CREATE TABLE a (id int PRIMARY KEY, v text, n int)"
sql shop "CREATE TABLE b (id int PRIMARY KEY, v text, pad text)"
sql shop "INSERT INTO a SELECT g, 'a' || g, g FROM generate_series(1, 1000) g"
# About 130 MB: read in parts (8 MB at least each), for seconds.
sql shop "INSERT INTO b SELECT g, 'b' || g, repeat('x', 80) FROM generate_series(1, 1000000) g"

options=('table.include.list: "public\\.(a|b)"' "extract-parallelism: 3" "max.batch.size: 100" "heartbeat.interval.ms: 1000")
cdc_manifest mirror "sqlite:///$WORK/replica.db" merge replica "${options[@]}"
cdc_manifest changelog "$PG_URI/replica" append replica "${options[@]}"

# Each run is killed once a's snapshot has committed, while it reads b (which takes seconds).
sql shop "CREATE PUBLICATION mirror_pub FOR TABLE a, b; CREATE PUBLICATION changelog_pub FOR TABLE a, b"
done_tables() {  # NAME
  if [ "$1" = mirror ]; then
    sqlite3 "$WORK/replica.db" "SELECT json_extract(state, '$.source.tables_done') FROM _nilus_state WHERE pipeline = 'mirror'"
  else
    sql replica "SELECT state::json->'source'->'tables_done' FROM replica._nilus_state WHERE pipeline = 'changelog'" | tr -d ' '
  fi
}
for name in mirror changelog; do
  start_cdc "$name"
  for _ in $(seq 6000); do
    [ "$(done_tables "$name" 2>/dev/null)" = '["public.a"]' ] && break
    sleep 0.1
  done
  kill_cdc "$name"
  [ "$(done_tables "$name")" = '["public.a"]' ] ||
    fail "$name: the kill did not come between the snapshots of a and b (tables done: $(done_tables "$name"))"
done
expect_sql replica "SELECT count(*) FROM replica.cdc_public_a WHERE _cdc_op = 'r'" 1000
expect_sql replica "SELECT count(*) FROM pg_tables WHERE tablename = 'cdc_public_b'" 0

# Changes while nilus is down, after the first snapshot's position.
sql shop "UPDATE a SET v = 'changed' WHERE id <= 10"
sql shop "UPDATE b SET v = 'changed' WHERE id <= 10"
sql shop "DELETE FROM b WHERE id BETWEEN 11 AND 20"
sql shop "INSERT INTO b VALUES (1000001, 'new', '')"
start_cdc mirror
start_cdc changelog
source_rows() { sql shop "SELECT $2 FROM $1 ORDER BY id" | md5sum; }
mirror_rows() { sqlite3 -separator '|' "$WORK/replica.db" "SELECT $2 FROM replica__cdc_public_$1 ORDER BY id" 2>/dev/null | md5sum; }
mirror_matches() {
  [ "$(source_rows a "id, v")" = "$(mirror_rows a "id, v")" ] && [ "$(source_rows b "id, v, pad")" = "$(mirror_rows b "id, v, pad")" ]
}
log_count() { sql replica "SELECT count(*) FROM replica.cdc_public_$1 WHERE $2"; }
wait_for "the mirror to match" mirror_matches
wait_for "b's snapshot in the change log" '[ "$(log_count b "_cdc_op = '"'r'"'")" = 999991 ]'
wait_for "a's updates in the change log" '[ "$(log_count a "_cdc_op = '"'u'"'")" = 10 ]'
for name in mirror changelog; do
  grep -q "resuming the snapshot: 1 tables loaded before, 1 to read" "$WORK/$name.log" ||
    fail "$name did not resume its snapshot by table"
  grep -q "snapshot of public.b: reading 3 parts in parallel" "$WORK/$name.log" || fail "$name did not read b in parts"
done
# b's changes made while nilus was down are in its snapshot, not streamed again.
expect_sql replica "SELECT count(*) FROM replica.cdc_public_b WHERE _cdc_op <> 'r'" 0
expect_sql replica "SELECT count(*) FROM replica.cdc_public_b WHERE _cdc_op = 'r' AND v = 'changed'" 10
expect_sql replica "SELECT count(*), count(DISTINCT id) FROM replica.cdc_public_b" "999991|999991"
expect_sql replica "SELECT count(*), count(DISTINCT id) FROM replica.cdc_public_a WHERE _cdc_op = 'r'" "1000|1000"
# The snapshot's position is recorded with its rows: b's is later than a's.
expect_sql replica "SELECT (SELECT max(_cdc_lsn) FROM replica.cdc_public_b) > (SELECT max(_cdc_lsn) FROM replica.cdc_public_a WHERE _cdc_op = 'r')" t
# Changes of b from now on stream.
sql shop "UPDATE b SET v = 'streamed' WHERE id = 1"
wait_for "b's streamed update in the change log" '[ "$(log_count b "_cdc_op = '"'u'"'")" = 1 ]'
wait_for "b's streamed update in the mirror" mirror_matches

# Schema changes mid-stream. A dropped column stays, NULL from then on.
sql shop "ALTER TABLE a DROP COLUMN v"
sql shop "INSERT INTO a VALUES (1001, 7)"
wait_for "the row after the dropped column in the change log" '[ "$(log_count a "id = 1001")" = 1 ]'
expect_sql replica "SELECT v IS NULL, n FROM replica.cdc_public_a WHERE id = 1001" "t|7"
wait_for "the row after the dropped column in the mirror" \
  '[ "$(sqlite3 "$WORK/replica.db" "SELECT v IS NULL, n FROM replica__cdc_public_a WHERE id = 1001")" = "1|7" ]'
expect_output "the mirror keeps the dropped column's values" "a20" \
  sqlite3 "$WORK/replica.db" "SELECT v FROM replica__cdc_public_a WHERE id = 20"
# A changed type: integers become text; a value that no longer fits the column goes to a variant column.
sql shop "ALTER TABLE a ALTER COLUMN n TYPE text"
sql shop "INSERT INTO a VALUES (1002, '8'), (1003, 'eight')"
wait_for "the rows after the type change in the change log" '[ "$(log_count a "id IN (1002, 1003)")" = 2 ]'
expect_sql replica "SELECT id, n, n__v_text FROM replica.cdc_public_a WHERE id >= 1002 ORDER BY id" "1002|8|
1003||eight"
wait_for "the rows after the type change in the mirror" \
  '[ "$(sqlite3 -separator "|" "$WORK/replica.db" "SELECT id, n, n__v_text FROM replica__cdc_public_a WHERE id >= 1002 ORDER BY id")" = "1002|8|
1003||eight" ]'
CHECKS=$((CHECKS + 3))
# Nothing was snapshotted again.
expect_sql replica "SELECT count(*) FROM replica.cdc_public_a WHERE _cdc_op = 'r'" 1000
kill_cdc mirror
kill_cdc changelog
echo "ok: $CHECKS checks"
