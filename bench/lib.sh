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

RUNS=${RUNS:-3}

# measure NAME CMD...: runs CMD RUNS times (each after $BEFORE_EACH, when set, and a sync) under
# /usr/bin/time; sets SECS and RSS_MB to the medians; CMD's stderr is kept in $work/err.NAME.
measure() {
  local name=$1 run
  shift
  : >"$work/times.$name"
  for run in $(seq "$RUNS"); do
    ${BEFORE_EACH:-true}
    sync  # the previous run's writes are not flushed during this one
    /usr/bin/time -f "%e %M" -o "$work/time.$name" "$@" >/dev/null 2>"$work/err.$name" || {
      cat "$work/err.$name" >&2
      exit 1
    }
    cat "$work/time.$name" >>"$work/times.$name"
  done
  SECS=$(cut -d' ' -f1 "$work/times.$name" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  RSS_MB=$(cut -d' ' -f2 "$work/times.$name" | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] / 1024 }')
}

source "$(dirname "${BASH_SOURCE[0]}")/data.sh"

# report ROWS TOOL MB REFERENCE_SECS [NOTE]: one line of results for the last measure; speed/ref
# is the reference's time divided by this one's (above 1: faster than the reference).
report() {
  printf '%-9s %-34s %8.2f %11.0f %7.1f %9s %8.2fx  %s\n' "$1" "$2" "$SECS" "$(echo "$1 / $SECS" | bc -l)" \
    "$(echo "$3 / $SECS" | bc -l)" "$RSS_MB" "$(echo "$4 / $SECS" | bc -l)" "${5:-}"
}
report_header() {
  printf '%-9s %-34s %8s %11s %7s %9s %9s  (median of %s runs)\n' rows tool seconds rows/s MB/s peakRSS speed/ref "$RUNS"
}
