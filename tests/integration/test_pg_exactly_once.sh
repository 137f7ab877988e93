# Exactly once into PostgreSQL when runs overlap, stop early or meet late rows: two runs of one
# pipeline started together (20 times), reads cut by sql-limit and yield-limit, rows that arrive
# later with the cursor's last value, and a stop in the middle of a long merge statement.
source "$(dirname "$0")/pg_lib.sh"
pg_start
sql "CREATE DATABASE src" >/dev/null
sql "CREATE DATABASE dst" >/dev/null
src="$PG_URI/src"
dst="$PG_URI/dst"

# --- Two runs of one pipeline at once, 20 times: every row once. -------------------------------
sql src "CREATE TABLE events (id bigserial PRIMARY KEY, at timestamptz NOT NULL, v text)" >/dev/null
both=(ingest --source-uri "$src" --source-table public.events --dest-uri "$dst" --dest-table raw.events
  --incremental-key id)
for round in $(seq 20); do
  sql src "INSERT INTO events (at, v) SELECT '2024-01-01', 'round $round row ' || i FROM generate_series(1, 500) i" >/dev/null
  "$NILUS_BIN" "${both[@]}" >"$WORK/out1" 2>"$WORK/err1" &
  first=$!
  "$NILUS_BIN" "${both[@]}" >"$WORK/out2" 2>"$WORK/err2" &
  second=$!
  wait "$first" || { cat "$WORK/err1" >&2; fail "round $round: the first run failed"; }
  wait "$second" || { cat "$WORK/err2" >&2; fail "round $round: the second run failed"; }
done
expect_sql dst "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM raw.events" "10000|10000|1|10000"
[ "$(table_digest src public.events id)" = "$(table_digest dst raw.events id)" ] || fail "two runs at once: tables differ"
expect_sql dst "SELECT sum(rows) FROM raw._nilus_loads WHERE table_name = 'raw.events'" "10000"
# a run that had to wait said so
cat "$WORK"/err1 "$WORK"/err2 >"$WORK/err"
grep -q "is running; waiting up to 600 s" "$WORK"/err1 "$WORK"/err2 || echo "note: no run of the last round had to wait"
CHECKS=$((CHECKS + 1))

# A run that cannot get the lock in time fails clearly and changes nothing.
sql src "INSERT INTO events (at, v) SELECT '2024-01-02', 'late ' || i FROM generate_series(1, 10) i" >/dev/null
psql -qXAt -d dst -c "BEGIN; SELECT pg_advisory_xact_lock(hashtextextended('nilus:raw.events:raw.events', 0)); SELECT pg_sleep(4); COMMIT;" >/dev/null &
holder=$!
sleep 1
expect_exit 1 "${both[@]}" --lock-timeout 1
expect_err_contains "another load of pipeline raw.events into raw.events has been running for more than 1 s"
wait "$holder"
expect_sql dst "SELECT count(*) FROM raw.events" "10000"
expect_ok "${both[@]}"
expect_sql dst "SELECT count(*) FROM raw.events" "10010"

# --- Rows that share the cursor's last value and arrive later are loaded, once. ----------------
sql src "CREATE TABLE ticks (n int, at timestamptz);
  INSERT INTO ticks VALUES (1, '2024-05-01 10:00Z'), (2, '2024-05-01 10:00Z'), (3, '2024-05-01 11:00Z')" >/dev/null
ticks=(ingest --source-uri "$src" --source-table public.ticks --dest-uri "$dst" --dest-table raw.ticks --incremental-key at)
expect_ok "${ticks[@]}"
sql src "INSERT INTO ticks VALUES (4, '2024-05-01 11:00Z'), (5, '2024-05-01 11:00Z'), (6, '2024-05-01 09:00Z')" >/dev/null
expect_ok "${ticks[@]}"
[ "$(rows_loaded)" = 2 ] || fail "late rows with the last value: $(cat "$WORK/out")"
expect_ok "${ticks[@]}"
expect_sql dst "SELECT string_agg(n::text, ',' ORDER BY n) FROM raw.ticks" "1,2,3,4,5"

# --- Reads cut by a limit continue exactly where they stopped. ----------------------------------
sql src "CREATE TABLE orders (id int PRIMARY KEY, at timestamp NOT NULL, amount numeric(10,2));
  INSERT INTO orders SELECT i, '2024-02-01'::timestamp + (i / 7) * interval '1 hour', i * 0.5
  FROM generate_series(1, 1000) i" >/dev/null
for limit in "--sql-limit 37" "--yield-limit 2 --page-size 23"; do
  table="limited_$(echo "$limit" | tr -dc 'a-z' | cut -c1-5)"
  # shellcheck disable=SC2086
  runs=$(drain ingest --source-uri "$src" --source-table public.orders --dest-uri "$dst" --dest-table "raw.$table" \
    --incremental-key at $limit)
  [ "$runs" -gt 10 ] || fail "$limit: the read was not cut ($runs runs)"
  [ "$(table_digest src public.orders id)" = "$(table_digest dst "raw.$table" id)" ] || fail "$limit: tables differ"
  expect_sql dst "SELECT count(*) - count(DISTINCT id) FROM raw.$table" "0"
done

# --- A stop in the middle of a long merge statement takes effect at once. ----------------------
sql src "CREATE TABLE big (id bigint PRIMARY KEY, v text, n int);
  INSERT INTO big SELECT i, md5(i::text), i % 100 FROM generate_series(1, 1500000) i" >/dev/null
merge=(ingest --source-uri "$src" --source-table public.big --dest-uri "$dst" --dest-table raw.big
  --incremental-strategy merge --log-level debug)
expect_ok "${merge[@]}"
snapshot() { sql dst "SELECT count(*), sum(n), max(_nilus_load_id) FROM raw.big" && sql dst "SELECT load_id FROM raw._nilus_state WHERE table_name = 'raw.big'"; }
before=$(snapshot)
started=$(date +%s.%N)
expect_ok "${merge[@]}"
full=$(echo "$(date +%s.%N) - $started" | bc)
[ "$(snapshot)" != "$before" ] || fail "the second merge changed nothing"
before=$(snapshot)
stop_in_merge "$full" "${merge[@]}"
[ "$(snapshot)" = "$before" ] || fail "the stopped merge changed the destination"
# Only client backends: autovacuum often analyses raw.big right after the full merges.
expect_sql dst "SELECT count(*) FROM pg_stat_activity WHERE datname = 'dst' AND state = 'active'
  AND backend_type = 'client backend' AND pid <> pg_backend_pid()" "0"
CHECKS=$((CHECKS + 3))
done_ok
