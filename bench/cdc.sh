#!/usr/bin/env bash
# PostgreSQL change data capture: how fast nilus drains a backlog of changes from a replication
# slot, beside pg_recvlogical (pgoutput, writing the raw stream to a file: the reference), on a
# throwaway cluster.
#
#   TXNS=40000 MAX_BATCH=2048 RATE=5000 LAG_SECONDS=30 bench/cdc.sh
#
# A pgbench workload (TXNS transactions, each updating an account, a teller and a branch and
# inserting a history row: 4 changes) is written while every consumer is stopped; then each
# consumer is started and timed until it has committed the position the workload ended at.
# (a) pg_recvlogical --endpos to a file
# (b) nilus into a SQLite change log, (c) a PostgreSQL change log, (d) a PostgreSQL mirror,
# (e) a lakehouse change log and (f) a lakehouse mirror (Iceberg on local disk).
# Then the lag of the PostgreSQL change log at a steady pgbench -R RATE (p50, p99, max).
BENCH_POSTGRES=1 source "$(dirname "$0")/lib.sh"
TXNS=${TXNS:-40000}
MAX_BATCH=${MAX_BATCH:-2048}  # max.batch.size: changes per destination transaction
RATE=${RATE:-5000}            # transactions/s of the lag measurement
LAG_SECONDS=${LAG_SECONDS:-30}
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
manifest log_lake "lakehouse://$work/log_lake" append
manifest mirror_lake "lakehouse://$work/mirror_lake" merge
committed_lsn() {  # NAME: the position the pipeline committed
  case $1 in
    log_sqlite) sqlite3 "$work/log.db" "SELECT json_extract(state, '$.source.lsn') FROM _nilus_state" 2>/dev/null ;;
    *_lake) sqlite3 "$work/$1/catalog.db" "SELECT json_extract(state, '$.source.lsn') FROM _nilus_state" 2>/dev/null ;;
    *) sql dst "SELECT state::json->'source'->>'lsn' FROM $1._nilus_state" 2>/dev/null ;;
  esac
}
# Each pipeline creates its slot (and commits its first position) before the workload.
for name in log_sqlite log_pg mirror_pg log_lake mirror_lake; do
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
# When the pipeline's last load committed (seconds since 1970): the end of its run, read
# afterwards, so that polling for it (each poll starts two clients) does not take the cores the
# pipeline and the servers need.
committed_at() {
  case $1 in
    log_sqlite) sqlite3 "$work/log.db" "SELECT (julianday(max(finished_at)) - 2440587.5) * 86400.0 FROM _nilus_loads" ;;
    *_lake) sqlite3 "$work/$1/catalog.db" "SELECT (julianday(max(finished_at)) - 2440587.5) * 86400.0 FROM _nilus_loads" ;;
    *) sql dst "SELECT extract(epoch FROM max(finished_at)) FROM $1._nilus_loads" ;;
  esac
}
for name in log_sqlite log_pg mirror_pg log_lake mirror_lake; do
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/rss.$name" "$NILUS_BIN" run "$work/$name.yaml" >>"$work/$name.log" 2>&1 &
  pid=$!
  until caught_up "$name"; do sleep 1; done
  secs=$(echo "$(committed_at "$name") - $start" | bc -l)
  kill -TERM "$(pgrep -P $pid nilus || echo $pid)" 2>/dev/null || true
  wait $pid || true
  printf '%-34s %9.2f %12.0f %8sMB %8.2fx\n' "nilus: $name" "$secs" "$(echo "$changes / $secs" | bc -l)" \
    "$(awk '{ printf "%.1f", $1 / 1024 }' "$work/rss.$name")" "$(echo "$ref / $secs" | bc -l)"
done
echo "($changes changes in $TXNS transactions, max.batch.size $MAX_BATCH; ref/x above 1: faster than pg_recvlogical)"

# Lag at a steady rate: pgbench -R RATE for LAG_SECONDS while the PostgreSQL change log streams.
# A change's lag is the time from its source commit (_cdc_source_ts_ms) to the destination commit
# of the load that holds it (_nilus_loads.finished_at, taken just before COMMIT).
/usr/bin/time -f "%M" -o "$work/rss.lag" "$NILUS_BIN" run "$work/log_pg.yaml" >>"$work/log_pg.log" 2>&1 &
pid=$!
until caught_up log_pg; do sleep 1; done
from=$(sql src "SELECT pg_current_wal_lsn()")
"$PGBENCH" -n -c 4 -R "$RATE" -T "$LAG_SECONDS" src >"$work/pgbench-rate.log" 2>&1
end=$(sql src "SELECT pg_current_wal_lsn()")
until caught_up log_pg; do sleep 1; done
kill -TERM "$(pgrep -P $pid nilus || echo $pid)" 2>/dev/null || true
wait $pid || true
changes_of() { echo "SELECT _cdc_commit_lsn, _cdc_source_ts_ms, _nilus_load_id FROM log_pg.bench_public_pgbench_$1"; }
sql dst "SELECT count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY lag)), round(percentile_cont(0.99) WITHIN GROUP (ORDER BY lag)), round(max(lag))
  FROM (SELECT extract(epoch FROM l.finished_at) * 1000 - c._cdc_source_ts_ms AS lag
        FROM ($(changes_of accounts) UNION ALL $(changes_of tellers) UNION ALL $(changes_of branches) UNION ALL $(changes_of history)) c
        JOIN (SELECT DISTINCT load_id, finished_at FROM log_pg._nilus_loads) l ON l.load_id = c._nilus_load_id
        WHERE c._cdc_commit_lsn >= '$from'::pg_lsn - '0/0'::pg_lsn) t" |
  while IFS='|' read -r n p50 p99 max; do
    printf 'lag at pgbench -R %s (%s): %s changes, p50 %s ms, p99 %s ms, max %s ms; nilus peak RSS %sMB\n' "$RATE" \
      "$(grep -o 'tps = [0-9.]*' "$work/pgbench-rate.log" | head -1)" "$n" "$p50" "$p99" "$max" \
      "$(awk '{ printf "%.1f", $1 / 1024 }' "$work/rss.lag")"
  done
