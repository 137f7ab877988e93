# Shared by the benchmarks: a release build, a scratch folder (with BENCH_POSTGRES=1, a throwaway
# PostgreSQL cluster whose folder it is), timing with peak RSS, medians, the generated data and
# the report lines.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$BENCH_DIR/.."
bash scripts/install-deps.sh --with-servers
# NILUS_BIN=path measures that binary instead of building build/nilus in release mode.
if [ -z "${NILUS_BIN:-}" ]; then
  bash scripts/build.sh release >/dev/null
  NILUS_BIN=$PWD/build/nilus
fi
export NILUS_BIN
NILUS=$NILUS_BIN
RUNS=${RUNS:-3}
if [ "${BENCH_POSTGRES:-}" = 1 ]; then
  source tests/integration/pg_lib.sh
  pg_start
  work=$WORK
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/nilus-bench.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi

# median: the median of the numbers on stdin, one a line.
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# timed NAME CMD...: runs CMD once (after a sync) and appends "seconds peakRSS_KB" to
# $work/NAME.times; CMD's stderr is kept in $work/err.NAME.
timed() {
  local name=$1
  shift
  sync  # the previous run's writes are not flushed during this one
  /usr/bin/time -f "%e %M" -o "$work/time.$name" "$@" >/dev/null 2>"$work/err.$name" || {
    cat "$work/err.$name" >&2
    exit 1
  }
  cat "$work/time.$name" >>"$work/$name.times"
}

# seconds NAME, rss_mb NAME: the medians of what `timed` recorded for NAME.
seconds() { cut -d' ' -f1 "$work/$1.times" | median; }
rss_mb() { cut -d' ' -f2 "$work/$1.times" | median | awk '{ printf "%.1f", $1 / 1024 }'; }

# measure NAME CMD...: runs CMD RUNS times (each after $BEFORE_EACH, when set); sets SECS and
# RSS_MB to the medians.
measure() {
  local name=$1 run
  shift
  rm -f "$work/$name.times"
  for run in $(seq "$RUNS"); do
    ${BEFORE_EACH:-true}
    timed "$name" "$@"
  done
  SECS=$(seconds "$name")
  RSS_MB=$(rss_mb "$name")
}

source "$BENCH_DIR/data.sh"

# report ROWS TOOL MB REFERENCE_SECS [NOTE]: one line of results for the last measure; speed/ref
# is the reference's time divided by this one's (above 1: faster than the reference).
report() {
  printf '%-9s %-34s %8.2f %11.0f %7.1f %9s %8.2fx  %s\n' "$1" "$2" "$SECS" "$(echo "$1 / $SECS" | bc -l)" \
    "$(echo "$3 / $SECS" | bc -l)" "$RSS_MB" "$(echo "$4 / $SECS" | bc -l)" "${5:-}"
}
report_header() {
  printf '%-9s %-34s %8s %11s %7s %9s %9s  (median of %s runs)\n' rows tool seconds rows/s MB/s peakRSS speed/ref "$RUNS"
}

# make_wide DB ROWS: the table `wide` in PostgreSQL database DB, 11 columns of the common types
# (text, varchar, numeric, integer, double, boolean, timestamptz, date, uuid, jsonb), ROWS rows.
make_wide() {
  sql "$1" "CREATE TABLE wide (id bigint PRIMARY KEY, name text, email varchar(80), amount numeric(12,2), qty integer,
    ratio double precision, ok boolean, created timestamptz, day date, ref uuid, tags jsonb);
  INSERT INTO wide SELECT i, 'customer ' || i, 'user' || i || '@example.com', (i % 100000) / 100.0, i % 50, i / 7.0,
    i % 3 = 0, '2024-01-01 00:00:00+00'::timestamptz + i * interval '1 second', '2024-01-01'::date + i % 365,
    md5(i::text)::uuid, jsonb_build_object('k', i % 10) FROM generate_series(1, $2) i" >/dev/null
}
