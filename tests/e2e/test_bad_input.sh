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
# an include list and an exclude list of one kind: the error says where
printf 'source:\n  address: postgresql://u:pw@127.0.0.1:1/db\n  options:\n    table.include.list: public.a\n    table.exclude.list: public.b\nsink:\n  address: %s\n  options: {dest-table: a, incremental-strategy: append}\n' "$dst" | manifest cdclists
expect_exit 2 validate cdclists.yaml
expect_err_contains "cdclists.yaml:5:25: table.include.list and table.exclude.list exclude each other; give one of them"

# an unknown masking algorithm is refused rather than ignored; so is masking the incremental key
expect_exit 2 ingest --source-uri "$src" --dest-uri "$dst" --dest-table a.b --mask "name:scramble"
expect_err_contains "unknown algorithm 'scramble'"
expect_exit 2 ingest --source-uri "$src" --dest-uri "$dst" --dest-table a.b --mask "id:hash" --incremental-key id
expect_err_contains "cannot be masked"

# an option the source does not honour is refused, naming the connectors that do
expect_exit 2 ingest --source-uri "$src" --dest-uri "$dst" --dest-table a.b --sql-limit 5
expect_err_contains "source option 'sql-limit' is not honoured by the file:// source; it applies to: mariadb, mysql, postgres, postgresql, sqlite"
expect_exit 2 ingest --source-uri "$src" --dest-uri "$dst" --dest-table a.b --extract-parallelism 2
expect_err_contains "'extract-parallelism' is not honoured by the file:// source"
expect_exit 2 ingest --source-uri "sqlite:///$WORK/dst.db" --source-table a__b --dest-uri "$dst" --dest-table a.e \
  --max-table-nesting 1
expect_err_contains "'max-table-nesting' is not honoured by the sqlite:// source; it applies to: custom, file, jsonl"
printf 'source:\n  address: %s\n  options: {date-detection: false, max-table-nesting: 1}\nsink:\n  address: %s\n  options: {dest-table: a.b, incremental-strategy: append}\n' "csv://$WORK/ok.csv" "$dst" | manifest csvnest
expect_exit 2 validate csvnest.yaml
expect_err_contains "csvnest.yaml:3:55: source option 'max-table-nesting' is not honoured by the csv:// source"
# a change-capture option on a file source is refused, naming the sources that honour it
printf 'source:\n  address: %s\n  options: {column.exclude.list: "public.t.ssn"}\nsink:\n  address: %s\n  options: {dest-table: a.b, incremental-strategy: append}\n' "$src" "$dst" | manifest cdcopt
expect_exit 2 validate cdcopt.yaml
expect_err_contains "source option 'column.exclude.list' is not honoured by the file:// source; it applies to: mariadb, mysql, postgres, postgresql"
# options only later connectors implement warn once
printf 'source:\n  address: %s\nsink:\n  address: %s\n  options: {dest-table: a.b, incremental-strategy: append, staging_bucket: s3://b}\n' "$src" "$dst" | manifest later
expect_ok validate later.yaml
expect_err_contains "sink option 'staging_bucket' is not implemented by any connector of this nilus yet"
# partition-by and cluster-by are the lakehouse's: refused elsewhere
printf 'source:\n  address: %s\nsink:\n  address: %s\n  options: {dest-table: a.b, incremental-strategy: append, partition-by: [{column: id, type: bucket, bucket-count: 4}]}\n' "$src" "$dst" | manifest elsewhere
expect_exit 2 validate elsewhere.yaml
expect_err_contains "sink option 'partition-by' is not honoured by the sqlite:// destination; it applies to: lakehouse, s3"
printf 'source:\n  address: %s\nsink:\n  address: %s\n  options: {dest-table: a.b, incremental-strategy: append, cluster-by: [id]}\n' "$src" "$dst" | manifest sorted
expect_exit 2 validate sorted.yaml
expect_err_contains "sink option 'cluster-by' is not honoured by the sqlite:// destination; it applies to: lakehouse, s3"
# partition-by in its list-of-maps form is validated all the same
printf 'source:\n  address: %s\nsink:\n  address: %s\n  options:\n    dest-table: a.b\n    incremental-strategy: append\n    partition-by:\n      - {column: at, type: dya}\n' "$src" "$dst" | manifest partition
expect_exit 2 validate partition.yaml
expect_err_contains "partition-by item 1: type 'dya' is not one of identity, year, month, day, hour, bucket, truncate (did you mean 'day'?)"
printf 'source:\n  address: %s\nsink:\n  address: %s\n  options:\n    dest-table: a.b\n    incremental-strategy: append\n    partition-by: [{column: id, type: bucket}]\n' "$src" "$dst" | manifest bucket
expect_exit 2 validate bucket.yaml
expect_err_contains "bucket-count goes with type bucket"
printf 'source:\n  address: %s\nsink:\n  address: %s\n  options:\n    dest-table: a.b\n    incremental-strategy: append\n    partition-by: [{column: name, type: truncate, width: 0}]\n' "$src" "$dst" | manifest width
expect_exit 2 validate width.yaml
expect_err_contains "partition-by item 1: width must be a whole number from 1 to 2147483647, got '0'"
# yield-limit with incremental-key on files, which cannot read in key order
expect_exit 2 ingest --source-uri "$src" --dest-uri "$dst" --dest-table a.b --yield-limit 1 --incremental-key id
expect_err_contains "cannot read in key order"
# an exclusion that names no column is refused: a typo must not let the column through
expect_exit 2 ingest --source-uri "$src" --dest-uri "$dst" --dest-table a.f --sql-exclude-columns nmae
expect_err_contains "option sql-exclude-columns names 'nmae', which the files does not have (did you mean 'name'?)"
expect_ok ingest --source-uri "$src" --dest-uri "$dst" --dest-table a.f --sql-exclude-columns name
expect_query dst.db "SELECT group_concat(name) FROM pragma_table_info('a__f')" "id,_nilus_load_id"

# a key given twice in a map, and two dag nodes with one name, are errors
printf 'source:\n  address: %s\n  options: {page-size: 5}\nsink:\n  address: %s\n  options:\n    dest-table: a.b\n    incremental-strategy: append\n    dest-table: a.c\n' "$src" "$dst" | manifest twice
expect_exit 2 validate twice.yaml
expect_err_contains "twice.yaml:9:5: 'dest-table' is given twice in the same map"
printf 'name: w\ntype: workflow\nworkflow:\n  dag:\n    - name: n\n      spec: {stackSpec: {source: {address: %s}, sink: {address: %s, options: {dest-table: a.b, incremental-strategy: append}}}}\n    - name: n\n      spec: {stackSpec: {source: {address: %s}, sink: {address: %s, options: {dest-table: a.c, incremental-strategy: append}}}}\n' "$src" "$dst" "$src" "$dst" | manifest twonodes
expect_exit 2 validate twonodes.yaml
expect_err_contains "two dag nodes are named 'n'"

# validate touches nothing
rm -f dst.db
expect_ok validate depot.yaml
[ ! -e dst.db ] || fail "validate created the destination"
done_ok
