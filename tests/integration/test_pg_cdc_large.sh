#!/usr/bin/env bash
# One source transaction of 2M rows streams into a change log in parts, inside one destination
# transaction, with memory bounded by the part size: every row lands once and peak RSS stays far
# below the size of the transaction.
source "$(dirname "$0")/pg_lib.sh"
pg_start
ROWS=${ROWS:-2000000}

sql "CREATE DATABASE shop"
sql shop "CREATE TABLE big (id bigint PRIMARY KEY, payload text)"
cdc_manifest big "sqlite:///$WORK/log.db" append logs "table.include.list: public.big"
# The sanitizers' allocator keeps freed memory in quarantine; keep it small so RSS means what it says.
ASAN_OPTIONS=${ASAN_OPTIONS:-}:quarantine_size_mb=16 /usr/bin/time -f "%M" -o "$WORK/rss" \
  "$NILUS_BIN" run "$WORK/big.yaml" >"$WORK/big.log" 2>&1 &
PID=$!
until grep -q "streaming changes" "$WORK/big.log"; do
  kill -0 $PID 2>/dev/null || { cat "$WORK/big.log" >&2; fail "nilus ended"; }
  sleep 0.2
done
sql shop "INSERT INTO big SELECT g, md5(g::text) || md5((g * 7)::text) FROM generate_series(1, $ROWS) g"
# A guard against a hang, not a speed check.
for _ in $(seq 1800); do
  [ "$(sqlite3 "$WORK/log.db" "SELECT count(*) FROM logs__cdc_public_big" 2>/dev/null)" = "$ROWS" ] && break
  sleep 1
done
pkill -TERM -P $PID  # nilus, the child of /usr/bin/time
wait $PID || fail "nilus exited $? after SIGTERM"
expect_query "$WORK/log.db" "SELECT count(*), count(DISTINCT id), count(DISTINCT _cdc_commit_lsn), min(_cdc_seq), max(_cdc_seq) FROM logs__cdc_public_big" \
  "$ROWS|$ROWS|1|1|$ROWS"
expect_query "$WORK/log.db" "SELECT payload FROM logs__cdc_public_big WHERE id = $((ROWS - 1))" \
  "$(sql shop "SELECT payload FROM big WHERE id = $((ROWS - 1))")"
# One destination transaction: one load holds every row.
expect_query "$WORK/log.db" "SELECT count(DISTINCT _nilus_load_id) FROM logs__cdc_public_big" 1
rss_mb=$(( $(cat "$WORK/rss") / 1024 ))
echo "peak RSS ${rss_mb} MB for a $ROWS-row transaction (about $(( ROWS * 80 / 1048576 )) MB of row data)"
[ "$rss_mb" -lt 400 ] || fail "peak RSS $rss_mb MB: memory grows with the transaction"
echo "ok: $CHECKS checks"
