#!/usr/bin/env bash
# MariaDB change data capture: how fast nilus drains a backlog of binary log changes, beside
# mariadb-binlog reading the same log from the server and decoding its rows (the reference), on
# throwaway servers.
#
#   TXNS=40000 MAX_BATCH=2048 bench/mysql_cdc.sh
#
# sysbench oltp_write_only (4 tables of 100k rows) runs TXNS transactions, each updating two rows,
# deleting one and inserting it again (4 changes), while every consumer is stopped; then each
# consumer is started and timed until it has committed the position the workload ended at.
# (a) mariadb-binlog --read-from-remote-server --base64-output=decode-rows --verbose to a file
# (b) nilus into a SQLite change log, (c) a PostgreSQL change log, (d) a PostgreSQL mirror.
BENCH_POSTGRES=1 source "$(dirname "$0")/lib.sh"
source "$BENCH_DIR/../tests/integration/my_lib.sh"
my_start
TXNS=${TXNS:-40000}
MAX_BATCH=${MAX_BATCH:-2048}
mysql_sql "CREATE DATABASE shop"
sql "CREATE DATABASE dst" >/dev/null
bench() {
  sysbench oltp_write_only --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$MYPORT" --mysql-user=app \
    --mysql-password=app-secret-pw --mysql-db=shop --tables=4 --table-size=100000 "$@" >>"$work/sysbench.log" 2>&1
}
bench prepare

manifest() {  # NAME DEST STRATEGY
  cat >"$work/$1.yaml" <<YAML
name: $1
type: service
service:
  stackSpec:
    source:
      address: $MY_URI/shop
      options:
        engine: debezium
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
committed() {  # NAME: the offset the pipeline committed
  case $1 in
    log_sqlite) sqlite3 "$work/log.db" "SELECT json_extract(state, '$.source.pos') FROM _nilus_state" 2>/dev/null ;;
    *) sql dst "SELECT state::json->'source'->>'pos' FROM $1._nilus_state" 2>/dev/null ;;
  esac
}
committed_at() {  # NAME: when its last load committed, seconds since 1970
  case $1 in
    log_sqlite) sqlite3 "$work/log.db" "SELECT (julianday(max(finished_at)) - 2440587.5) * 86400.0 FROM _nilus_loads" ;;
    *) sql dst "SELECT extract(epoch FROM max(finished_at)) FROM $1._nilus_loads" ;;
  esac
}
# Each pipeline commits its starting position before the workload.
for name in log_sqlite log_pg mirror_pg; do
  "$NILUS_BIN" run "$work/$name.yaml" >"$work/$name.log" 2>&1 &
  pid=$!
  until [ -n "$(committed "$name")" ]; do
    kill -0 $pid 2>/dev/null || { cat "$work/$name.log" >&2; exit 1; }
    sleep 0.2
  done
  kill -TERM $pid
  wait $pid
done
read -r file start _ < <(mysql_sql "SHOW MASTER STATUS")
bench --threads=4 --events="$TXNS" --time=0 run
read -r end_file end _ < <(mysql_sql "SHOW MASTER STATUS")
[ "$file" = "$end_file" ] || { echo "the workload rotated the binary log; lower TXNS" >&2; exit 1; }
changes=$((TXNS * 4))
printf '%-40s %9s %12s %9s %9s\n' consumer seconds changes/s peakRSS ref/x

timed binlog mariadb-binlog --no-defaults --read-from-remote-server --host=127.0.0.1 --port="$MYPORT" --user=app \
  --password=app-secret-pw --start-position="$start" --stop-position="$end" --base64-output=decode-rows --verbose \
  --result-file="$work/binlog.out" "$file"
ref=$(seconds binlog)
printf '%-40s %9.2f %12.0f %8sMB %8.2fx\n' "mariadb-binlog (decoded rows, to a file)" "$ref" \
  "$(echo "$changes / $ref" | bc -l)" "$(rss_mb binlog)" 1

for name in log_sqlite log_pg mirror_pg; do
  from=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/rss.$name" "$NILUS_BIN" run "$work/$name.yaml" >>"$work/$name.log" 2>&1 &
  pid=$!
  until [ "$(committed "$name")" -ge "$end" ] 2>/dev/null; do sleep 1; done
  secs=$(echo "$(committed_at "$name") - $from" | bc -l)
  kill -TERM "$(pgrep -P $pid nilus || echo $pid)" 2>/dev/null || true
  wait $pid || true
  printf '%-40s %9.2f %12.0f %8sMB %8.2fx\n' "nilus: $name" "$secs" "$(echo "$changes / $secs" | bc -l)" \
    "$(awk '{ printf "%.1f", $1 / 1024 }' "$work/rss.$name")" "$(echo "$ref / $secs" | bc -l)"
done
log_rows=$(sqlite3 "$work/log.db" "SELECT (SELECT count(*) FROM log_sqlite__bench_shop_sbtest1) +
  (SELECT count(*) FROM log_sqlite__bench_shop_sbtest2) + (SELECT count(*) FROM log_sqlite__bench_shop_sbtest3) +
  (SELECT count(*) FROM log_sqlite__bench_shop_sbtest4)")
[ "$log_rows" = "$changes" ] || { echo "the SQLite change log holds $log_rows changes, not $changes" >&2; exit 1; }
echo "($changes changes in $TXNS transactions, max.batch.size $MAX_BATCH; ref/x above 1: faster than mariadb-binlog)"
