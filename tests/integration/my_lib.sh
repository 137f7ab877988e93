# Starts a throwaway MariaDB server for one test: mariadb-install-db into the test's temporary
# folder, a free loopback port, the row-based binary log on; stopped and removed when the test
# exits. Tests that need PostgreSQL too source pg_lib.sh first and call pg_start before my_start.
if [ -z "${WORK:-}" ]; then source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"; fi

MYDATA_DIR=$WORK/my
MY_SOCKET=$WORK/my.sock

my_start() {
  mkdir -p "$MYDATA_DIR"
  mariadb-install-db --no-defaults --datadir="$MYDATA_DIR" --user="$(id -un)" \
    --auth-root-authentication-method=normal --skip-test-db >"$WORK/my-install.log" 2>&1 ||
    { cat "$WORK/my-install.log" >&2; fail "mariadb-install-db failed"; }
  # A concurrent test may take the port between the check and the start: then another one.
  local attempt
  for attempt in 1 2 3 4 5; do
    MYPORT=$(free_port)
    my_launch && break
    grep -q "Address already in use\|Can't start server: Bind" "$WORK/my.log" && [ "$attempt" -lt 5 ] ||
      { cat "$WORK/my.log" >&2; fail "MariaDB did not start"; }
  done
  # Background jobs (nilus services) end with the test, whatever its outcome.
  trap 'kill -KILL $(jobs -p) 2>/dev/null || true; kill -KILL "$MY_PID" 2>/dev/null; my_cleanup_extra; rm -rf "$WORK"' EXIT
  mysql_sql "CREATE USER app@'%' IDENTIFIED BY 'app-secret-pw'; GRANT ALL ON *.* TO app@'%' WITH GRANT OPTION;"
  MY_URI="mysql://app:app-secret-pw@127.0.0.1:$MYPORT"
}
# Starts mariadbd on $MYPORT (the row-based binary log with the column names change data capture
# reads); fails when it does not answer.
my_launch() {
  mariadbd --no-defaults --datadir="$MYDATA_DIR" --socket="$MY_SOCKET" --port="$MYPORT" \
    --bind-address=127.0.0.1 --user="$(id -un)" --skip-name-resolve --log-bin="$MYDATA_DIR/binlog" \
    --server-id=1 --binlog-format=ROW --binlog-row-metadata=FULL --innodb-flush-log-at-trx-commit=2 \
    --innodb-buffer-pool-size=256M --pid-file="$WORK/my.pid" --log-error="$WORK/my.log" ${MY_EXTRA_ARGS:-} \
    >>"$WORK/my.out" 2>&1 &
  MY_PID=$!
  for _ in $(seq 600); do
    mariadb-admin --no-defaults --socket="$MY_SOCKET" -uroot ping >/dev/null 2>&1 && return 0
    kill -0 "$MY_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
# Stops the server cleanly and starts it again on the same port and data.
my_restart() {
  kill -TERM "$MY_PID"
  wait "$MY_PID" 2>/dev/null || true
  my_launch || { cat "$WORK/my.log" >&2; fail "MariaDB did not start again"; }
}

# my_cdc_manifest NAME SINK STRATEGY SCHEMA [OPTION…]: a change-data-capture service of the
# database shop into SINK, in $WORK/NAME.yaml; each OPTION is a "key: value" source option.
my_cdc_manifest() {
  local name=$1 sink=$2 strategy=$3 schema=$4 option
  shift 4
  {
    cat <<YAML
name: $name
type: service
service:
  stackSpec:
    source:
      address: $MY_URI/shop
      options:
        engine: debezium
YAML
    for option in "$@"; do echo "        $option"; done
    cat <<YAML
    sink:
      address: $sink
      options:
        dest-table: $schema
        incremental-strategy: $strategy
YAML
  } >"$WORK/$name.yaml"
}

# What a test that also started PostgreSQL stops besides MariaDB.
my_cleanup_extra() {
  if [ -n "${PGDATA_DIR:-}" ] && [ -d "${PGDATA_DIR:-}" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m immediate stop >/dev/null 2>&1 || true
  fi
}

# mysql_sql [DB] SQL: runs SQL through the mariadb client as root (tab-separated, no header).
mysql_sql() {
  local db=""
  if [ $# -gt 1 ]; then db=$1; shift; fi
  mariadb --no-defaults --socket="$MY_SOCKET" -uroot --batch --skip-column-names $db -e "$1"
}

# expect_mysql DB SQL EXPECTED: the query's output equals EXPECTED.
expect_mysql() {
  expect_output "database $1" "$3" mysql_sql "$1" "$2"
}
