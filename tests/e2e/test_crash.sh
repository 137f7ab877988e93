# Exactly-once under failure: a load killed with SIGKILL, or stopped with SIGINT/SIGTERM,
# leaves the destination and the state exactly as before; the next run loads every row once.
source "$(dirname "$0")/lib.sh"
mkdir in
gen_orders in/a.csv 1 1000
dst="sqlite:///$WORK/dst.db"
load_args=(ingest --source-uri "file://$WORK/in/*.csv" --dest-uri "$dst" --dest-table raw.orders --page-size 5000)

expect_ok "${load_args[@]}"
snapshot() {
  q dst.db "SELECT count(*), sum(id), max(_nilus_load_id) FROM raw__orders; SELECT * FROM _nilus_state; SELECT count(*) FROM _nilus_loads;"
}
before=$(snapshot)
state_before=$("$NILUS_BIN" state show raw.orders)

# A big new file, so the next load is long enough to be caught in the middle.
gen_orders in/b.csv 1001 1500000

check_unchanged() {
  [ "$(snapshot)" = "$before" ] || fail "$1: the destination changed: $(snapshot)"
  [ "$("$NILUS_BIN" state show raw.orders)" = "$state_before" ] || fail "$1: the local state changed"
  CHECKS=$((CHECKS + 2))
}

# SIGKILL mid-load: nothing of the load is visible afterwards.
start_load dst.db-wal "${load_args[@]}"
stop_load KILL 137
check_unchanged "after SIGKILL"

# SIGINT and SIGTERM: a clean stop with exit 130, nothing committed.
for sig in INT TERM; do
  start_load dst.db-wal "${load_args[@]}"
  stop_load "$sig" 130
  grep -q "interrupted" "$WORK/err" || fail "no word of the interruption after SIG$sig"
  check_unchanged "after SIG$sig"
done

# The next run completes: every row of both files exactly once, compared with sqlite3's import.
expect_ok "${load_args[@]}"
import_csv ref.db a in/a.csv
import_csv ref.db b in/b.csv
expect_same ref.db "SELECT count(*), count(DISTINCT id), sum(id), sum(qty) FROM (SELECT id, qty FROM a UNION ALL SELECT id, qty FROM b)" \
  dst.db "SELECT count(*), count(DISTINCT id), sum(id), sum(qty) FROM raw__orders"
expect_same ref.db "SELECT id, customer, note FROM b WHERE CAST(id AS INT) % 99991 = 0 ORDER BY CAST(id AS INT)" \
  dst.db "SELECT id, customer, note FROM raw__orders WHERE id % 99991 = 0 AND id > 1000 ORDER BY id"
expect_query dst.db "SELECT count(*) FROM _nilus_loads" "2"
# and a further run finds nothing new
expect_ok "${load_args[@]}"
expect_query dst.db "SELECT count(*) FROM raw__orders" "1501000"
done_ok
