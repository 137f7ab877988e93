#!/usr/bin/env bash
# CSV -> SQLite: nilus ingest beside sqlite3's own `.import` of the same file, in the same run.
# Reports rows/s, MB/s and peak RSS (/usr/bin/time -v) for each, and the ratio nilus / sqlite3.
#
#   bench/csv_to_sqlite.sh [ROWS ...]     (default: 1000000; try 1000000 10000000)
#
# sqlite3 .import stores every value as text and checks nothing; nilus infers types over the
# whole file (one extra read), converts every value and commits state with the data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --with-servers
bash scripts/build.sh release >/dev/null
NILUS=$PWD/build/nilus
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000)
work=$(mktemp -d "${TMPDIR:-/tmp}/nilus-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# measure NAME CMD...: runs CMD under /usr/bin/time -v; sets SECS and RSS_MB.
measure() {
  local name=$1
  shift
  /usr/bin/time -v -o "$work/time.$name" "$@" >/dev/null 2>"$work/err.$name" || {
    cat "$work/err.$name" >&2
    exit 1
  }
  SECS=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$work/time.$name")
  RSS_MB=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$work/time.$name")
}

printf '%-10s %-16s %10s %12s %8s %10s\n' rows tool seconds rows/s MB/s peakRSS_MB
for n in "${sizes[@]}"; do
  csv=$work/orders_$n.csv
  awk -v n="$n" 'BEGIN {
    print "id,customer,email,amount,qty,paid,created_at,ship_date,note";
    for (i = 1; i <= n; i++)
      printf "%d,customer %d,user%d@example.com,%d.%02d,%d,%s,2024-%02d-%02dT%02d:%02d:%02dZ,2024-%02d-%02d,\"note %d, with comma\"\n",
        i, i % 100003, i, i % 100000, i % 100, i % 50, (i % 3 ? "true" : "false"),
        i % 12 + 1, i % 28 + 1, i % 24, i % 60, (i * 7) % 60, (i + 3) % 12 + 1, i % 28 + 1, i;
  }' >"$csv"
  mb=$(awk -v b="$(stat -c %s "$csv")" 'BEGIN { printf "%.1f", b / 1e6 }')

  rm -f "$work/sqlite3.db"
  measure sqlite3 sqlite3 "$work/sqlite3.db" -cmd ".mode csv" ".import $csv orders"
  s_secs=$SECS
  printf '%-10s %-16s %10.2f %12.0f %8.1f %10s\n' "$n" "sqlite3 .import" "$SECS" "$(echo "$n / $SECS" | bc -l)" \
    "$(echo "$mb / $SECS" | bc -l)" "$RSS_MB"

  rm -f "$work/nilus.db"*
  NILUS_HOME=$work/home measure nilus "$NILUS" ingest --source-uri "file://$csv" --dest-uri "sqlite:///$work/nilus.db" \
    --dest-table raw.orders --log-level warn
  got=$(sqlite3 "$work/nilus.db" "SELECT count(*) FROM raw__orders")
  [ "$got" = "$n" ] || { echo "nilus loaded $got rows, expected $n" >&2; exit 1; }
  printf '%-10s %-16s %10.2f %12.0f %8.1f %10s   (%.2fx sqlite3 .import time)\n' "$n" "nilus ingest" "$SECS" \
    "$(echo "$n / $SECS" | bc -l)" "$(echo "$mb / $SECS" | bc -l)" "$RSS_MB" "$(echo "$SECS / $s_secs" | bc -l)"
  rm -f "$csv" "$work"/*.db*
done
