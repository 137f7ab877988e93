# Every malformed manifest, option or flag exits 2 with a message naming the culprit.
source "$(dirname "$0")/lib.sh"
printf 'id,name\n1,a\n' >ok.csv
manifest() {  # manifest NAME: writes stdin to NAME.yaml
  cat >"$1.yaml"
}
src="file://$WORK/ok.csv"
dst="sqlite:///$WORK/dst.db"

# YAML syntax error: file, line and column
printf 'source:\n  address: %s\n  options: {page-size: 1\nsink: ]\n' "$src" | manifest syntax
expect_exit 2 validate syntax.yaml
expect_err_contains "syntax.yaml:"
expect_err_contains "YAML syntax error"

# missing source / sink / address
printf 'sink:\n  address: %s\n  options: {dest-table: a.b, incremental-strategy: append}\n' "$dst" | manifest nosource
expect_exit 2 validate nosource.yaml
expect_err_contains "no 'source:' section"
printf 'source:\n  address: %s\n' "$src" | manifest nosink
expect_exit 2 run nosink.yaml
expect_err_contains "no 'sink:' section"
printf 'source:\n  options: {source-table: x}\nsink:\n  address: %s\n  options: {dest-table: a.b, incremental-strategy: append}\n' "$dst" | manifest noaddress
expect_exit 2 validate noaddress.yaml
expect_err_contains "noaddress.yaml:2:3"
expect_err_contains "has no address"

# unknown scheme
expect_exit 2 ingest --source-uri "foo://x" --dest-uri "$dst" --dest-table a.b
expect_err_contains "no source for addresses starting 'foo://'"
expect_err_contains "file://"

# dest-table without a schema
expect_exit 2 ingest --source-uri "$src" --dest-uri "$dst" --dest-table orders
expect_err_contains "dest-table 'orders' must be schema.table"

# unknown strategy, with a suggestion
expect_exit 2 ingest --source-uri "$src" --dest-uri "$dst" --dest-table a.b --incremental-strategy merg
expect_err_contains "incremental-strategy"
expect_err_contains "did you mean 'merge'"

# merge without primary-key
printf 'source:\n  address: %s\nsink:\n  address: %s\n  options:\n    dest-table: a.b\n    incremental-strategy: merge\n' "$src" "$dst" | manifest nokey
expect_exit 2 validate nokey.yaml
expect_err_contains "merge' needs a primary key"
expect_err_contains "nokey.yaml:4:12"

# wrong type for page-size: where, what, allowed
printf 'source:\n  address: %s\n  options:\n    page-size: lots\nsink:\n  address: %s\n  options: {dest-table: a.b, incremental-strategy: append}\n' "$src" "$dst" | manifest pagesize
expect_exit 2 validate pagesize.yaml
expect_err_contains "pagesize.yaml:4:16"
expect_err_contains "page-size"
expect_err_contains "'lots'"
expect_err_contains "whole number"
expect_exit 2 ingest --source-uri "$src" --dest-uri "$dst" --dest-table a.b --page-size 0
expect_err_contains "flag --page-size"

# missing {ENV} variable
unset NILUS_TEST_MISSING || true
printf 'source:\n  address: file:///{NILUS_TEST_MISSING}/x.csv\nsink:\n  address: %s\n  options: {dest-table: a.b, incremental-strategy: append}\n' "$dst" | manifest noenv
expect_exit 2 validate noenv.yaml
expect_err_contains "environment variable NILUS_TEST_MISSING is not set"

# unknown depot, known depots listed
mkdir -p "$NILUS_HOME"
printf 'warehouse: %s\n' "$dst" >"$NILUS_HOME/depots.yaml"
printf 'source:\n  address: %s\nsink:\n  address: dataos://warehous\n  options: {dest-table: a.b, incremental-strategy: append}\n' "$src" | manifest nodepot
expect_exit 2 validate nodepot.yaml
expect_err_contains "unknown depot 'warehous'"
expect_err_contains "did you mean 'warehouse'"
# and a known depot resolves
printf 'source:\n  address: %s\nsink:\n  address: dataos://warehouse\n  options: {dest-table: a.b, incremental-strategy: append}\n' "$src" | manifest depot
expect_ok run depot.yaml
expect_query dst.db "SELECT id, name FROM a__b" "1|a"

# an unknown option warns with the closest name and does not fail
printf 'source:\n  address: %s\n  options: {page-sise: 10}\nsink:\n  address: %s\n  options: {dest-table: a.c, incremental-strategy: append, primary-keys: id}\n' "$src" "$dst" | manifest typo
expect_ok validate typo.yaml
expect_err_contains "unknown source option 'page-sise'"
expect_err_contains "did you mean 'page-size'"
expect_err_contains "did you mean 'primary-key'"

# unknown manifest type; platform fields accepted
printf 'type: workflo\n' | manifest badtype
expect_exit 2 validate badtype.yaml
expect_err_contains "did you mean 'workflow'"
printf 'name: p\ntype: workflow\nworkflow:\n  schedule: {cron: "*/5 * * * *", concurrencyPolicy: Forbid}\n  dag:\n    - name: n\n      spec:\n        compute: runnable-default\n        resources: {requests: {cpu: 1}}\n        stackSpec:\n          source: {address: %s}\n          sink: {address: %s, options: {dest-table: a.d, incremental-strategy: append}}\n' "$src" "$dst" | manifest platform
expect_ok validate platform.yaml
expect_err_lacks "unknown field"

# a bad type hint; an unknown CLI flag; a missing manifest; a bad CDC option value
expect_exit 2 ingest --source-uri "$src" --dest-uri "$dst" --dest-table a.b --type-hints "id:integr"
expect_err_contains "unknown type 'integr'"
expect_exit 2 ingest --source-uri "$src" --dest-uri "$dst" --dest-table a.b --no-such-flag
expect_err_contains "no-such-flag"
expect_exit 2 run missing.yaml
expect_err_contains "missing.yaml does not exist"
printf 'source:\n  address: %s\n  options: {snapshot.mode: sometimes}\nsink:\n  address: %s\n  options: {dest-table: a.b, incremental-strategy: append}\n' "$src" "$dst" | manifest cdc
expect_exit 2 validate cdc.yaml
expect_err_contains "snapshot.mode"
expect_err_contains "initial, always, no_data, initial_only, when_needed"

# an unknown masking algorithm is refused rather than ignored; so is masking the incremental key
expect_exit 2 ingest --source-uri "$src" --dest-uri "$dst" --dest-table a.b --mask "name:scramble"
expect_err_contains "unknown algorithm 'scramble'"
expect_exit 2 ingest --source-uri "$src" --dest-uri "$dst" --dest-table a.b --mask "id:hash" --incremental-key id
expect_err_contains "cannot be masked"

# validate touches nothing
rm -f dst.db
expect_ok validate depot.yaml
[ ! -e dst.db ] || fail "validate created the destination"
done_ok
