# Shared helpers for the end-to-end tests: each test runs build/nilus as a user does, in a
# temporary folder, and checks the destination with the sqlite3 client.
set -euo pipefail

ROOT=${NILUS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
NILUS_BIN=${NILUS_BIN:-$ROOT/build/nilus}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nilus-e2e.XXXXXX")
export NILUS_HOME=$WORK/home
unset NILUS_DEPOTS
CHECKS=0
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# nilus ARGS...: runs the binary; stdout in $WORK/out, stderr in $WORK/err, exit code in $RC.
nilus() {
  set +e
  "$NILUS_BIN" "$@" >"$WORK/out" 2>"$WORK/err"
  RC=$?
  set -e
}

# A port nothing listens on, below the kernel's ephemeral range (32768 and up), where the
# outgoing connections of concurrent tests would take it.
free_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 12000))
    if ! (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  fail "no free port found"
}

# expect_ok ARGS...: runs nilus and requires exit code 0.
expect_ok() {
  nilus "$@"
  if [ "$RC" -ne 0 ]; then
    cat "$WORK/err" >&2
    fail "nilus $* exited $RC, expected 0"
  fi
  CHECKS=$((CHECKS + 1))
}

# expect_exit CODE ARGS...: runs nilus and requires exit code CODE.
expect_exit() {
  local code=$1
  shift
  nilus "$@"
  if [ "$RC" -ne "$code" ]; then
    cat "$WORK/out" "$WORK/err" >&2
    fail "nilus $* exited $RC, expected $code"
  fi
  CHECKS=$((CHECKS + 1))
}

# expect_err_contains TEXT: the last run's stderr contains TEXT.
expect_err_contains() {
  grep -qF -- "$1" "$WORK/err" || { cat "$WORK/err" >&2; fail "stderr does not mention: $1"; }
  CHECKS=$((CHECKS + 1))
}

expect_err_lacks() {
  if grep -qF -- "$1" "$WORK/err" "$WORK/out"; then
    cat "$WORK/err" >&2
    fail "output mentions what it must not: $1"
  fi
  CHECKS=$((CHECKS + 1))
}

# q DB SQL: runs a query with the sqlite3 client, '|' separated, no header.
q() {
  sqlite3 -batch -noheader -cmd ".timeout 10000" "$1" "$2"
}

# expect_output WHAT EXPECTED CMD...: CMD's output equals EXPECTED (lines joined by newlines).
expect_output() {
  local what=$1 expected=$2 got
  shift 2
  got=$("$@")
  if [ "$got" != "$expected" ]; then
    printf 'query: %s\nexpected:\n%s\ngot:\n%s\n' "${*: -1}" "$expected" "$got" >&2
    fail "unexpected rows in $what"
  fi
  CHECKS=$((CHECKS + 1))
}

# expect_query DB SQL EXPECTED: the sqlite3 query's output equals EXPECTED.
expect_query() {
  expect_output "$1" "$3" q "$1" "$2"
}

# expect_same DB1 SQL1 DB2 SQL2: both queries give the same output (e.g. row sets in order).
expect_same() {
  local a b
  a=$(q "$1" "$2")
  b=$(q "$3" "$4")
  if [ "$a" != "$b" ]; then
    diff <(echo "$a") <(echo "$b") | head -20 >&2
    fail "destination and source differ"
  fi
  CHECKS=$((CHECKS + 1))
}

# gen_orders FILE FIRST_ID COUNT: writes a CSV of COUNT generated orders with a header.
gen_orders() {
  awk -v first="$2" -v n="$3" 'BEGIN {
    print "id,customer,amount,qty,paid,created_at,note";
    for (i = first; i < first + n; i++) {
      printf "%d,customer %d,%d.%02d,%d,%s,2024-01-%02dT%02d:%02d:%02dZ,\"note, %d\"\n",
        i, i % 997, i % 1000, i % 100, i % 7, (i % 2 ? "true" : "false"),
        i % 28 + 1, i % 24, i % 60, i % 60, i;
    }
  }' >"$1"
}

# import_csv DB TABLE FILE: loads FILE with sqlite3's own CSV import, as an independent reference.
import_csv() {
  sqlite3 -batch "$1" ".mode csv" ".import '$3' $2"
}

# start_load WAL ARGS...: starts nilus ARGS in the background (PID in $PID) and waits until it
# has written 4 MB to the SQLite log WAL (rows inserted, not committed), so that a signal lands
# in the middle of the load.
start_load() {
  local wal=$1 base size
  shift
  "$NILUS_BIN" "$@" >"$WORK/out" 2>"$WORK/err" &
  PID=$!
  base=$(stat -c %s "$wal" 2>/dev/null || echo 0)
  while kill -0 "$PID" 2>/dev/null; do
    size=$(stat -c %s "$wal" 2>/dev/null || echo 0)
    [ "$size" -gt $((base + 4000000)) ] && return 0
    sleep 0.05
  done
  fail "the load ended before it could be interrupted; give it more data"
}

# stop_load SIGNAL CODE: sends SIGNAL to the load started by start_load and requires exit CODE.
stop_load() {
  local rc
  kill -"$1" "$PID"
  set +e
  wait "$PID"
  rc=$?
  set -e
  [ "$rc" -eq "$2" ] || { cat "$WORK/err" >&2; fail "expected exit $2 after SIG$1, got $rc"; }
}

# rows_loaded: the row count the last run's summary reports.
rows_loaded() { sed -n 's/^Loaded [0-9]* tables\?, \([0-9]*\) rows.*/\1/p' "$WORK/out"; }

# drain ARGS...: runs nilus ARGS until a run loads nothing (at most 60 runs); prints the runs.
drain() {
  local runs=0
  while true; do
    expect_ok "$@"
    runs=$((runs + 1))
    [ "$(rows_loaded)" = 0 ] && break
    [ "$runs" -lt 60 ] || fail "60 runs did not drain the source"
  done
  echo "$runs"
}

# stop_in_merge FULL_SECONDS ARGS...: starts nilus ARGS (a merge, with --log-level debug), sends
# SIGTERM once its merge statements run, and requires exit 130 within a quarter of FULL_SECONDS
# (what the same merge takes in full).
stop_in_merge() {
  local full=$1 signalled took
  shift
  : >"$WORK/err"  # the previous run's log must not be taken for this one's
  "$NILUS_BIN" "$@" >"$WORK/out" 2>"$WORK/err" &
  PID=$!
  until grep -q "merging the staged rows" "$WORK/err"; do
    kill -0 "$PID" 2>/dev/null || { cat "$WORK/err" >&2; fail "the load ended before its merge could be stopped"; }
    sleep 0.02
  done
  signalled=$(date +%s.%N)
  stop_load TERM 130
  took=$(echo "$(date +%s.%N) - $signalled" | bc)
  echo "a full merge took $full s; the stopped one ended $took s after SIGTERM"
  [ "$(echo "$took < $full / 4" | bc)" = 1 ] || fail "SIGTERM took $took s to stop a merge that takes $full s in full"
}

done_ok() {
  echo "$(basename "$0"): $CHECKS checks passed"
}
