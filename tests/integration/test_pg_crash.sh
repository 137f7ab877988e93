# PostgreSQL destination under failure: SIGKILL mid-COPY leaves data and state as they were; the
# next run is exact. A concurrent reader never sees a replaced table missing or empty.
source "$(dirname "$0")/pg_lib.sh"
pg_start
sql "CREATE DATABASE src" >/dev/null
sql "CREATE DATABASE dst" >/dev/null
sql src "CREATE TABLE events (id bigint PRIMARY KEY, payload text, at timestamptz);
INSERT INTO events SELECT i, repeat('x', 50) || i, '2024-01-01'::timestamptz + i * interval '1 second'
FROM generate_series(1, 1000) i;" >/dev/null
load_args=(ingest --source-uri "$PG_URI/src" --source-table public.events --dest-uri "$PG_URI/dst"
  --dest-table raw.events --incremental-key id --page-size 10000)
expect_ok "${load_args[@]}"
snapshot() {
  sql dst "SELECT count(*), sum(id) FROM raw.events" && sql dst "SELECT state::text FROM raw._nilus_state" &&
    sql dst "SELECT count(*) FROM raw._nilus_loads"
}
before=$(snapshot)
sql src "INSERT INTO events SELECT i, repeat('y', 50) || i, '2025-01-01'::timestamptz + i * interval '1 second'
FROM generate_series(1001, 1500000) i" >/dev/null

# Wait until the destination's COPY has taken rows (uncommitted), then kill.
"$NILUS_BIN" "${load_args[@]}" >"$WORK/out" 2>"$WORK/err" &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
  n=$(sql dst "SELECT coalesce(max(tuples_processed), 0) FROM pg_stat_progress_copy")
  [ "$n" -gt 100000 ] && break
  sleep 0.05
done
kill -0 "$pid" 2>/dev/null || fail "the load ended before it could be killed"
kill -KILL "$pid"
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" -eq 137 ] || fail "expected death by SIGKILL, got exit $rc"
# the server notices the broken connection and rolls back
for _ in $(seq 100); do
  [ "$(sql dst "SELECT count(*) FROM pg_stat_activity WHERE datname = 'dst' AND pid <> pg_backend_pid()")" = 0 ] && break
  sleep 0.1
done
[ "$(snapshot)" = "$before" ] || fail "after SIGKILL the destination changed: $(snapshot)"
CHECKS=$((CHECKS + 1))

# The next run loads the rest exactly once.
expect_ok "${load_args[@]}"
expect_sql dst "SELECT count(*), count(DISTINCT id), sum(id) FROM raw.events" "$(sql src "SELECT count(*), count(DISTINCT id), sum(id) FROM events")"
[ "$(table_digest src public.events id)" = "$(table_digest dst raw.events id)" ] || fail "tables differ"
CHECKS=$((CHECKS + 1))

# replace under a concurrent reader: never missing, never empty
small=(ingest --source-uri "$PG_URI/src" --source-table "query:SELECT * FROM events WHERE id <= 20000"
  --dest-uri "$PG_URI/dst" --dest-table raw.small --incremental-strategy replace)
expect_ok "${small[@]}"
for _ in 1 2 3; do
  "$NILUS_BIN" "${small[@]}" >/dev/null 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    n=$(sql dst "SELECT count(*) FROM raw.small" 2>&1 || true)
    [ "$n" = 20000 ] || fail "a reader saw '$n' during replace"
  done
  wait "$pid"
done
CHECKS=$((CHECKS + 1))
done_ok
