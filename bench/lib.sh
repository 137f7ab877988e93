# Shared by the benchmarks that run nilus and reference tools on generated files: a release
# build, a scratch folder, timing with peak RSS, the generated data and the report lines.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-deps.sh --with-servers
# NILUS_BIN=path measures that binary instead of building build/nilus in release mode.
if [ -z "${NILUS_BIN:-}" ]; then
  bash scripts/build.sh release >/dev/null
  NILUS_BIN=$PWD/build/nilus
fi
NILUS=$NILUS_BIN
work=$(mktemp -d "${TMPDIR:-/tmp}/nilus-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# measure NAME CMD...: runs CMD under /usr/bin/time -v; sets SECS and RSS_MB; CMD's stderr is
# kept in $work/err.NAME.
measure() {
  local name=$1
  shift
  sync  # the previous run's writes are not flushed during this one
  /usr/bin/time -v -o "$work/time.$name" "$@" >/dev/null 2>"$work/err.$name" || {
    cat "$work/err.$name" >&2
    exit 1
  }
  SECS=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$work/time.$name")
  RSS_MB=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$work/time.$name")
}

# gen_orders_csv FILE ROWS: the benchmark's orders, 9 columns of mixed types, with a header.
gen_orders_csv() {
  awk -v n="$2" 'BEGIN {
    print "id,customer,email,amount,qty,paid,created_at,ship_date,note";
    for (i = 1; i <= n; i++)
      printf "%d,customer %d,user%d@example.com,%d.%02d,%d,%s,2024-%02d-%02dT%02d:%02d:%02dZ,2024-%02d-%02d,\"note %d, with comma\"\n",
        i, i % 100003, i, i % 100000, i % 100, i % 50, (i % 3 ? "true" : "false"),
        i % 12 + 1, i % 28 + 1, i % 24, i % 60, (i * 7) % 60, (i + 3) % 12 + 1, i % 28 + 1, i;
  }' >"$1"
}

# megabytes FILE: its size in MB.
megabytes() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", b / 1e6 }'; }

# report ROWS TOOL MB REFERENCE_SECS [NOTE]: one line of results for the last measure.
report() {
  printf '%-9s %-34s %8.2f %11.0f %7.1f %9s %7.2fx  %s\n' "$1" "$2" "$SECS" "$(echo "$1 / $SECS" | bc -l)" \
    "$(echo "$3 / $SECS" | bc -l)" "$RSS_MB" "$(echo "$SECS / $4" | bc -l)" "${5:-}"
}
report_header() {
  printf '%-9s %-34s %8s %11s %7s %9s %8s\n' rows tool seconds rows/s MB/s peakRSS time/ref
}
