# incremental-key across runs from a SQLite source, interval backfills, and the cursor in state.
source "$(dirname "$0")/lib.sh"
sqlite3 src.db "CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT, amount NUMERIC(10,2), at TIMESTAMP);
INSERT INTO events VALUES (1, 'a', '1.10', '2024-01-01 00:00:00'), (2, 'b', '2.20', '2024-01-02 00:00:00'),
                          (3, 'c', '3.30', '2024-01-03 00:00:00');"
src="sqlite:///$WORK/src.db"
dst="sqlite:///$WORK/dst.db"
load() { expect_ok ingest --source-uri "$src" --source-table events --dest-uri "$dst" --dest-table raw.events "$@"; }
rows="SELECT id, kind, amount, at FROM raw__events ORDER BY id, _nilus_load_id"

load --incremental-key at
expect_same src.db "SELECT id, kind, amount, at FROM events ORDER BY id" dst.db "$rows"
expect_query dst.db "SELECT json_extract(state, '$.cursor.value') FROM _nilus_state" "2024-01-03 00:00:00"

# nothing new: nothing loaded
load --incremental-key at
expect_query dst.db "SELECT count(*) FROM raw__events" "3"

# new and changed rows after the cursor are appended; rows at or before it are not
sqlite3 src.db "INSERT INTO events VALUES (4, 'd', '4.40', '2024-01-04 00:00:00'), (5, 'e', '5.50', '2024-01-05 12:30:00');
UPDATE events SET kind = 'A' WHERE id = 1;"
load --incremental-key at
expect_query dst.db "SELECT id, kind FROM raw__events ORDER BY id" "1|a
2|b
3|c
4|d
5|e"
expect_query dst.db "SELECT json_extract(state, '$.cursor.value') FROM _nilus_state" "2024-01-05 12:30:00"
expect_query dst.db "SELECT rows FROM _nilus_loads ORDER BY finished_at" "3
0
2"

# merge with an incremental key: changed rows (with a newer timestamp) replace their old version
sqlite3 src.db "UPDATE events SET kind = 'D', at = '2024-01-06 00:00:00' WHERE id = 4;"
expect_ok ingest --source-uri "$src" --source-table events --dest-uri "$dst" --dest-table raw.mirror \
  --incremental-key at --incremental-strategy merge --primary-key id
expect_ok ingest --source-uri "$src" --source-table events --dest-uri "$dst" --dest-table raw.mirror \
  --incremental-key at --incremental-strategy merge --primary-key id
expect_same src.db "SELECT id, kind, amount, at FROM events ORDER BY id" dst.db "SELECT id, kind, amount, at FROM raw__mirror ORDER BY id"

# an interval is a backfill: [start, end) is loaded, the cursor is left as it was
expect_ok ingest --source-uri "$src" --source-table events --dest-uri "$dst" --dest-table raw.window \
  --incremental-key at --interval-start 2024-01-02 --interval-end "2024-01-04T00:00:00"
expect_query dst.db "SELECT id FROM raw__window ORDER BY id" "2
3"
expect_query dst.db "SELECT json_extract(state, '$.cursor') FROM _nilus_state WHERE table_name = 'raw.window'" ""

# integer keys, from a query
expect_ok ingest --source-uri "$src" --source-table "query:SELECT id, kind FROM events WHERE id > 1" \
  --dest-uri "$dst" --dest-table raw.q --incremental-key id
expect_query dst.db "SELECT group_concat(id) FROM raw__q" "2,3,4,5"
sqlite3 src.db "INSERT INTO events VALUES (6, 'f', '6.60', '2024-01-07 00:00:00');"
expect_ok ingest --source-uri "$src" --source-table "query:SELECT id, kind FROM events WHERE id > 1" \
  --dest-uri "$dst" --dest-table raw.q --incremental-key id
expect_query dst.db "SELECT group_concat(id) FROM (SELECT id FROM raw__q ORDER BY id)" "2,3,4,5,6"

# the cursor is in the local state store too
expect_ok state show raw.q
grep -q '"value": "6"' "$WORK/out" || fail "state show: $(cat "$WORK/out")"

# a key that is not a column
expect_exit 2 ingest --source-uri "$src" --source-table events --dest-uri "$dst" --dest-table raw.bad --incremental-key nope
expect_err_contains "incremental-key 'nope' is not a column"
done_ok
