#!/usr/bin/env bash
# CSV -> SQLite: nilus ingest beside sqlite3's own `.import` of the same file, in the same run.
# Reports rows/s, MB/s and peak RSS for each (medians of RUNS runs), and the speed ratio to sqlite3.
#
#   bench/csv_to_sqlite.sh [ROWS ...]     (default: 1000000; try 1000000 10000000)
#
# sqlite3 .import stores every value as text and checks nothing; nilus infers types over the
# whole file (one extra read, on two threads), converts every value, writes a load id in every
# row, commits state with the data, and writes in WAL mode (so readers are never blocked), whose
# checkpoint writes each page a second time: the WAL line shows what that mode alone costs.
source "$(dirname "$0")/lib.sh"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000)

clean() { rm -rf "$work"/*.db* "$work/home"; }
clean_wal() { clean && sqlite3 "$work/sqlite3.db" "PRAGMA journal_mode=WAL" >/dev/null; }

report_header
for n in "${sizes[@]}"; do
  csv=$work/orders_$n.csv
  gen_orders_csv "$csv" "$n"
  mb=$(megabytes "$csv")

  BEFORE_EACH=clean measure sqlite3 sqlite3 "$work/sqlite3.db" -cmd ".mode csv" ".import $csv orders"
  ref=$SECS
  report "$n" "sqlite3 .import" "$mb" "$ref"
  # The same in WAL mode, as nilus writes (readers keep reading during a load): every page goes to
  # the log first and into the database at the checkpoint that follows the commit.
  BEFORE_EACH=clean_wal measure sqlite3_wal sqlite3 "$work/sqlite3.db" -cmd "PRAGMA synchronous=NORMAL" \
    -cmd ".mode csv" ".import $csv orders"
  report "$n" "sqlite3 .import, WAL" "$mb" "$ref"

  BEFORE_EACH=clean NILUS_HOME=$work/home measure nilus "$NILUS" ingest --source-uri "file://$csv" --dest-uri "sqlite:///$work/nilus.db" \
    --dest-table raw.orders --log-level warn
  got=$(sqlite3 "$work/nilus.db" "SELECT count(*) FROM raw__orders")
  [ "$got" = "$n" ] || { echo "nilus loaded $got rows, expected $n" >&2; exit 1; }
  report "$n" "nilus ingest" "$mb" "$ref"
  rm -f "$csv" "$work"/*.db*
done
