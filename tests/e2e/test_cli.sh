# The command line a user expects: version, help for every command (with the global flags and
# typed values), unknown commands named, clear errors for an unwritable destination, load ids in
# time order, and secrets masked where they are secrets only.
source "$(dirname "$0")/lib.sh"

for flag in --version -V version; do
  expect_ok "$flag"
  grep -qE '^nilus [0-9]+\.[0-9]+\.[0-9]+$' out || fail "$flag printed: $(cat out)"
done

expect_ok help
for command in run ingest validate state schema version help; do
  grep -q "^  $command " out || fail "nilus help does not list $command"
done
expect_ok help ingest
grep -q "Usage: nilus ingest" out || fail "help ingest: $(head -3 out)"
grep -q -- "--log-level LEVEL" out || fail "help ingest does not list the global flags"
grep -q -- "--page-size INT" out || fail "help ingest does not show typed values"
grep -q -- "--lock-timeout SECONDS" out || fail "help ingest has no --lock-timeout"
expect_ok run --help
grep -q -- "--log-format FORMAT" out || fail "run --help does not list the global flags"
expect_ok state show --help
grep -q "Usage: nilus state show" out || fail "state show --help: $(head -3 out)"
expect_ok state reset --help
grep -q "PIPELINE NAME REQUIRED" out || fail "state reset --help: $(cat out)"

expect_exit 2 stat show
expect_err_contains "unknown command 'stat' (did you mean 'state'?)"
expect_err_contains "the commands are: run, ingest, validate, state, schema, serve, version, help"
expect_exit 2 help nope
expect_err_contains "unknown command 'nope'"
expect_exit 2 ingest --source-uri file:///x.csv --dest-uri sqlite:///x.db --dest-table a.b --page-size
expect_err_contains "page-size"

# Load ids: fixed-width UTC time to the microsecond, so they sort in time order.
printf 'id\n1\n' >one.csv
for _ in 1 2 3; do
  expect_ok ingest --source-uri "file://$WORK/one.csv" --dest-uri "sqlite:///$WORK/ids.db" --dest-table raw.ids \
    --incremental-strategy replace
done
ids=$(q ids.db "SELECT load_id FROM _nilus_loads ORDER BY rowid")
echo "$ids" | grep -qvE '^[0-9]{8}T[0-9]{6}\.[0-9]{6}Z\.[0-9a-f]{4}$' && fail "load ids not in the fixed format: $ids"
[ "$(echo "$ids" | sort)" = "$ids" ] || fail "load ids do not sort in time order: $ids"
CHECKS=$((CHECKS + 2))

# A destination in a folder the user may not write: "cannot write", exit 1.
mkdir ro
q ro/x.db "CREATE TABLE t (a)"
chmod 555 ro
chmod 755 "$WORK"
if [ "$(id -u)" -eq 0 ]; then as_user=(runuser -u nobody --); mkdir -m 777 home_nobody; else as_user=(); fi
set +e
"${as_user[@]}" env NILUS_HOME="$WORK/home_nobody" "$NILUS_BIN" ingest --source-uri "file://$WORK/one.csv" \
  --dest-uri "sqlite:///$WORK/ro/x.db" --dest-table raw.x >"$WORK/out" 2>"$WORK/err"
RC=$?
set -e
[ "$RC" = 1 ] || { cat err >&2; fail "unwritable destination: exit $RC, expected 1"; }
expect_err_contains "cannot write SQLite database $WORK/ro/x.db"
expect_err_lacks "not a SQLite database"
chmod 755 ro

# Secrets: a password in an address, a {ENV} value in a password or token position, never shown;
# a {ENV} value in a path stays readable.
export NILUS_TEST_PW=s3cr3t-pa55-value NILUS_TEST_DIR=nowhere-dir
expect_exit 2 ingest --source-uri "file:///{NILUS_TEST_DIR}/x.csv" --dest-uri "sqlite:///$WORK/s.db" --dest-table raw.s
expect_err_contains "/nowhere-dir/x.csv does not exist"
expect_exit 2 ingest --source-uri "foo://user:{NILUS_TEST_PW}@db.example:5432/app" --dest-uri "sqlite:///$WORK/s.db" \
  --dest-table raw.s --log-level debug
expect_err_lacks "s3cr3t-pa55-value"
expect_err_contains "user:***@db.example"
expect_exit 2 ingest --source-uri "foo://db.example/app?user=u&password={NILUS_TEST_PW}&api_token=tok-12345" \
  --dest-uri "sqlite:///$WORK/s.db" --dest-table raw.s
expect_err_lacks "s3cr3t-pa55-value"
expect_err_lacks "tok-12345"
expect_err_contains "password=***&api_token=***"
expect_exit 2 ingest --source-uri "foo://user:pa55w0rd-xyz@db.example:5432/app" --dest-uri "sqlite:///$WORK/s.db" \
  --dest-table raw.s
expect_err_lacks "pa55w0rd-xyz"
done_ok
