#!/usr/bin/env bash
# Merge cost follows the rows merged, not the table size: 10k changed rows merged into tables of
# 100k, 1M and 5M rows, on SQLite and PostgreSQL; and a full merge of 1M rows into a 1M-row table
# beside a plain append of the same rows. Median of RUNS runs; peak RSS of nilus.
#
#   bench/merge.sh [SIZE ...]     (default: 100000 1000000 5000000; DESTS="sqlite" for one)
#
# The tables are made by nilus as a merge makes them (primary key on id). The changed rows hit
# either keys spread over the whole table (the worst case: every row on a page of its own, so
# the pages a merge rewrites grow with the table until there are more pages than rows) or the
# table's last keys (recent rows, what change data capture mostly brings).
BENCH_POSTGRES=1 source "$(dirname "$0")/lib.sh"
sql "CREATE DATABASE dst" >/dev/null
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000 5000000)
CHANGED=10000

row() {  # row SIZE DEST WHAT NAME [REF_NAME]
  local secs ratio=""
  secs=$(seconds "$4")
  [ -n "${5:-}" ] && ratio=$(printf '%.2fx' "$(echo "$secs / $(seconds "$5")" | bc -l)")
  printf '%-9s %-10s %-34s %8.2f %9.1fM %8s\n' "$1" "$2" "$3" "$secs" "$(rss_mb "$4")" "$ratio"
}

printf '%-9s %-10s %-34s %8s %10s %8s\n' table dest what seconds peakRSS ratio
for size in "${sizes[@]}"; do
  orders "$work/shape.csv" 0 1 1 0
  orders "$work/base.csv" 1 "$size" 1 0
  for dest in ${DESTS:-sqlite postgresql}; do
    if [ "$dest" = sqlite ]; then uri="sqlite:///$work/merge_$size.db"; else uri="$PG_URI/dst"; fi
    table="m$size.orders"
    # The table as a merge makes it (primary key on id), then filled by an append.
    ingest=("$NILUS_BIN" ingest --dest-uri "$uri" --dest-table "$table" --log-level warn)
    "${ingest[@]}" --source-uri "file://$work/shape.csv" --incremental-strategy merge --primary-key id >/dev/null
    "${ingest[@]}" --source-uri "file://$work/base.csv" --incremental-strategy append >/dev/null
    rm -f "$work"/*.times
    for run in $(seq "$RUNS"); do
      # 10k rows whose keys are spread over the whole table, and the last 10k keys; a new version
      # each run.
      orders "$work/spread_$run.csv" 1 "$CHANGED" $((size / CHANGED)) "$run"
      timed "spread" "${ingest[@]}" --source-uri "file://$work/spread_$run.csv" --incremental-strategy merge \
        --primary-key id
      orders "$work/recent_$run.csv" $((size - CHANGED + 1)) "$CHANGED" 1 "$run"
      timed "recent" "${ingest[@]}" --source-uri "file://$work/recent_$run.csv" --incremental-strategy merge \
        --primary-key id
    done
    row "$size" "$dest" "merge $CHANGED rows, keys spread" spread
    row "$size" "$dest" "merge $CHANGED rows, the last keys" recent
    if [ "$size" = 1000000 ]; then
      for run in $(seq "$RUNS"); do
        orders "$work/full_$run.csv" 1 "$size" 1 "$((run + 10))"
        timed "full" "${ingest[@]}" --source-uri "file://$work/full_$run.csv" --incremental-strategy merge \
          --primary-key id
        timed "append" "$NILUS_BIN" ingest --dest-uri "$uri" --dest-table "a$run.orders" --log-level warn \
          --source-uri "file://$work/full_$run.csv" --incremental-strategy append
      done
      row "$size" "$dest" "append $size rows (new table)" append
      row "$size" "$dest" "merge $size rows into $size" full append
    fi
    # the merged table holds every key once, each changed key in its last version
    if [ "$dest" = sqlite ]; then
      check=$(sqlite3 "$work/merge_$size.db" "SELECT count(*), count(DISTINCT id) FROM m${size}__orders")
    else
      check=$(sql dst "SELECT count(*), count(DISTINCT id) FROM m$size.orders")
    fi
    [ "$check" = "$((size + 1))|$((size + 1))" ] || { echo "merged table: $check" >&2; exit 1; }
  done
  rm -f "$work"/*.csv "$work"/merge_*.db*
  sql dst "DROP SCHEMA IF EXISTS m$size CASCADE" >/dev/null 2>&1
done
