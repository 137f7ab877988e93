#!/usr/bin/env bash
# Merges into a lakehouse table, with compaction (the defaults: at 64 equality delete files or
# deletes at 20% of the rows) and without (both limits 0): MERGES merges of 10k rows whose keys
# are spread over a table of SIZE rows (the worst case: every data file loses rows), then the
# table read whole by nilus (lakehouse to lakehouse), the cost a reader pays for the deletes left.
# Reports the median merge, the slowest (a compacting one), the delete files left, the read and
# the peak RSS of each.
#
#   bench/lakehouse_merge.sh [SIZE ...]     (default: 1000000 5000000; MERGES=70)
source "$(dirname "$0")/lib.sh"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 5000000)
MERGES=${MERGES:-70}
CHANGED=10000

printf '%-9s %-11s %12s %12s %9s %10s %10s %12s\n' table compaction "merge (med)" "slowest" "deletes" "merge RSS" "read" "read RSS"
for size in "${sizes[@]}"; do
  orders "$work/base.csv" 1 "$size" 1 0
  for run in $(seq "$MERGES"); do
    orders "$work/spread_$run.csv" $((1 + run % (size / CHANGED))) "$CHANGED" $((size / CHANGED)) "$run"
  done
  for mode in on off; do
    limits=()
    [ "$mode" = off ] && limits=(--compact-delete-files 0 --compact-delete-percent 0)
    rm -rf "$work/lake" "$work/copy" "$work/home" "$work"/*.times
    export NILUS_HOME=$work/home
    "$NILUS_BIN" ingest --source-uri "csv://$work/base.csv" --source-table base --dest-uri "lakehouse://$work/lake" \
      --dest-table raw.orders --incremental-strategy merge --primary-key id --log-level warn >/dev/null
    for run in $(seq "$MERGES"); do
      timed merge "$NILUS_BIN" ingest --source-uri "csv://$work/spread_$run.csv" --source-table "spread_$run" \
        --dest-uri "lakehouse://$work/lake" --dest-table raw.orders --incremental-strategy merge --primary-key id \
        "${limits[@]}" --log-level warn
    done
    slowest=$(cut -d' ' -f1 "$work/merge.times" | sort -n | tail -1)
    deletes=$(/usr/bin/python3 -W ignore tests/tools/iceberg_read.py "$work/lake/catalog.db" raw orders |
      /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)['delete_files'])")
    timed read "$NILUS_BIN" ingest --source-uri "lakehouse://$work/lake" --source-table raw.orders \
      --dest-uri "lakehouse://$work/copy" --dest-table raw.orders --log-level warn
    rows=$(/usr/bin/python3 -W ignore tests/tools/iceberg_read.py "$work/copy/catalog.db" raw orders |
      /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)['manifest_rows'])")
    [ "$rows" = "$size" ] || { echo "the table read back holds $rows rows, expected $size" >&2; exit 1; }
    printf '%-9s %-11s %11.2fs %11.2fs %9s %9.1fM %9.2fs %11.1fM\n' "$size" "$mode" "$(seconds merge)" "$slowest" \
      "$deletes" "$(rss_mb merge)" "$(seconds read)" "$(rss_mb read)"
  done
done
