#!/usr/bin/env bash
# PostgreSQL change data capture: how fast nilus drains a backlog of changes from a replication
# slot, beside pg_recvlogical (pgoutput, writing the raw stream to a file: the reference), on a
# throwaway cluster.
#
#   TXNS=40000 MAX_BATCH=2048 bench/cdc.sh
#
# A pgbench workload (TXNS transactions, each updating an account, a teller and a branch and
# inserting a history row: 4 changes) is written while every consumer is stopped; then each
# consumer is started and timed until it has committed the position the workload ended at.
# (a) pg_recvlogical --endpos to a file
# (b) nilus into a SQLite change log, (c) a PostgreSQL change log, (d) a PostgreSQL mirror
BENCH_POSTGRES=1 source "$(dirname "$0")/lib.sh"
TXNS=${TXNS:-40000}
MAX_BATCH=${MAX_BATCH:-2048}  # max.batch.size: changes per destination transaction
PGBENCH=$PG_BIN/pgbench
PG_RECVLOGICAL=$PG_BIN/pg_recvlogical

sql "CREATE DATABASE src" >/dev/null
sql "CREATE DATABASE dst" >/dev/null
"$PGBENCH" -q -i -s 10 src >/dev/null 2>&1
sql src "ALTER TABLE pgbench_history ADD COLUMN hid bigserial PRIMARY KEY" >/dev/null
sql src "CREATE PUBLICATION bench_pub FOR TABLE pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history" >/dev/null

manifest() {  # NAME DEST STRATEGY
  cat >"$work/$1.yaml" <<YAML
name: $1
type: service
service:
  stackSpec:
    source:
      address: $PG_URI/src
      options:
        slot.name: $1
        publication.name: bench_pub
        table.include.list: "public\\\\.pgbench_.*"
        snapshot.mode: no_data
        topic.prefix: bench
        max.batch.size: $MAX_BATCH
    sink:
      address: $2
      options:
        dest-table: $1
        incremental-strategy: $3
YAML
}
manifest log_sqlite "sqlite:///$work/log.db" append
manifest log_pg "$PG_URI/dst" append
manifest mirror_pg "$PG_URI/dst" merge
committed_lsn() {  # NAME: the position the pipeline committed
  case $1 in
    log_sqlite) sqlite3 "$work/log.db" "SELECT json_extract(state, '$.source.lsn') FROM _nilus_state" 2>/dev/null ;;
    *) sql dst "SELECT state::json->'source'->>'lsn' FROM $1._nilus_state" 2>/dev/null ;;
  esac
}
# Each pipeline creates its slot (and commits its first position) before the workload.
for name in log_sqlite log_pg mirror_pg; do
  "$NILUS_BIN" run "$work/$name.yaml" >"$work/$name.log" 2>&1 &
  pid=$!
  until [ -n "$(committed_lsn "$name")" ]; do
    kill -0 $pid 2>/dev/null || { cat "$work/$name.log" >&2; exit 1; }
    sleep 0.2
  done
  kill -TERM $pid
  wait $pid
done
"$PG_RECVLOGICAL" -d src --slot ref --create-slot -P pgoutput

"$PGBENCH" -n -c 4 -t $((TXNS / 4)) src >"$work/pgbench.log" 2>&1
end=$(sql src "SELECT pg_current_wal_lsn()")
changes=$((TXNS * 4))
printf '%-34s %9s %12s %9s %9s\n' consumer seconds changes/s peakRSS ref/x

timed recvlogical "$PG_RECVLOGICAL" -d src --slot ref --start --endpos "$end" -o proto_version=1 \
  -o publication_names=bench_pub -f "$work/ref.out" --no-loop
ref=$(seconds recvlogical)
printf '%-34s %9.2f %12.0f %8sMB %8.2fx\n' "pg_recvlogical (to a file)" "$ref" "$(echo "$changes / $ref" | bc -l)" \
  "$(rss_mb recvlogical)" 1

caught_up() { [ "$(sql src "SELECT '$(committed_lsn "$1")'::pg_lsn >= '$end'::pg_lsn" 2>/dev/null)" = t ]; }
for name in log_sqlite log_pg mirror_pg; do
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/rss.$name" "$NILUS_BIN" run "$work/$name.yaml" >>"$work/$name.log" 2>&1 &
  pid=$!
  until caught_up "$name"; do sleep 0.05; done
  secs=$(echo "$(date +%s.%N) - $start" | bc -l)
  kill -TERM "$(pgrep -P $pid nilus || echo $pid)" 2>/dev/null || true
  wait $pid || true
  printf '%-34s %9.2f %12.0f %8sMB %8.2fx\n' "nilus: $name" "$secs" "$(echo "$changes / $secs" | bc -l)" \
    "$(awk '{ printf "%.1f", $1 / 1024 }' "$work/rss.$name")" "$(echo "$ref / $secs" | bc -l)"
done
echo "($changes changes in $TXNS transactions, max.batch.size $MAX_BATCH; ref/x above 1: faster than pg_recvlogical)"
