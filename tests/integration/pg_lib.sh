# Starts a throwaway PostgreSQL cluster for one test: initdb into the test's temporary folder,
# a free loopback port, wal_level=logical; stopped and removed when the test exits.
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGDATA_DIR=$WORK/pg
# initdb refuses to run as root: the cluster belongs to the postgres user.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() {
  mkdir -p "$PGDATA_DIR" "$WORK/pgsock"
  [ "$(id -u)" -ne 0 ] || chown postgres "$PGDATA_DIR" "$WORK/pgsock" "$WORK"
  chmod 755 "$WORK"
  as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres -E UTF8 --locale=C.UTF-8 --auth-local=trust \
    --auth-host=scram-sha-256 >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log" >&2; fail "initdb failed"; }
  PGPORT=$(free_port)
  cat >>"$PGDATA_DIR/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$WORK/pgsock'
wal_level = logical
max_wal_senders = 10
max_replication_slots = 10
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 128MB
CONF
  # Trust for the test's own setup over the socket; passwords over TCP, as users connect. A
  # concurrent test may take the port between the check and the start: then another one.
  local attempt
  for attempt in 1 2 3 4 5; do
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$WORK/pg.log" -w -t 60 start >/dev/null && break
    grep -q "Address already in use" "$WORK/pg.log" && [ "$attempt" -lt 5 ] ||
      { cat "$WORK/pg.log" >&2; fail "PostgreSQL did not start"; }
    PGPORT=$(free_port)
    sed -i "s/^port = .*/port = $PGPORT/" "$PGDATA_DIR/postgresql.conf"
  done
  # Background jobs (nilus services) end with the test, whatever its outcome.
  trap 'kill -KILL $(jobs -p) 2>/dev/null || true; as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m immediate stop >/dev/null 2>&1; rm -rf "$WORK"' EXIT
  export PGHOST=$WORK/pgsock PGPORT PGUSER=postgres PGDATABASE=postgres
  psql -qX -v ON_ERROR_STOP=1 -c "CREATE ROLE app LOGIN PASSWORD 'app-secret-pw' SUPERUSER" >/dev/null
  PG_URI="postgresql://app:app-secret-pw@127.0.0.1:$PGPORT"
}

# sql [DB] SQL: runs SQL through psql (unaligned, no header).
sql() {
  local db=postgres
  if [ $# -gt 1 ]; then db=$1; shift; fi
  psql -qXAt -v ON_ERROR_STOP=1 -d "$db" -c "$1"
}

# expect_sql DB SQL EXPECTED: the psql query's output equals EXPECTED.
expect_sql() {
  expect_output "database $1" "$3" sql "$1" "$2"
}

# table_digest DB TABLE ORDER_BY: a digest of every value of every row (row::text), in order,
# leaving out _nilus_load_id.
table_digest() {
  sql "$1" "SELECT md5(coalesce(string_agg(r::text, E'\n' ORDER BY $3), '')) FROM (SELECT * FROM $2) AS t0, LATERAL (SELECT ($(cols "$1" "$2"))) AS r(x)"
}
cols() {
  sql "$1" "SELECT string_agg(format('t0.%I', attname), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = '$2'::regclass AND attnum > 0 AND NOT attisdropped AND attname <> '_nilus_load_id'"
}

# --- change data capture ----------------------------------------------------------------------

# cdc_manifest NAME SINK STRATEGY SCHEMA [OPTION]...: writes $WORK/NAME.yaml, a change-capture
# service from database shop (slot NAME, publication NAME_pub) into schema SCHEMA of SINK as a
# change log (append) or a mirror (merge); each OPTION ("key: value") is one more source option.
cdc_manifest() {
  local name=$1 sink=$2 strategy=$3 schema=$4 option
  shift 4
  {
    cat <<YAML
name: $name
type: service
service:
  stackSpec:
    source:
      address: $PG_URI/shop
      options:
        slot.name: $name
        publication.name: ${name}_pub
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

# start_cdc NAME: runs pipeline NAME in the background, its output appended to $WORK/NAME.log.
# stop_cdc NAME: SIGTERM, and it must exit 0. kill_cdc NAME: SIGKILL.
declare -A CDC_PIDS
start_cdc() {
  "$NILUS_BIN" run "$WORK/$1.yaml" >>"$WORK/$1.log" 2>&1 &
  CDC_PIDS[$1]=$!
}
stop_cdc() {
  kill -TERM "${CDC_PIDS[$1]}"
  wait "${CDC_PIDS[$1]}" || fail "nilus $1 exited $? after SIGTERM"
}
kill_cdc() {
  kill -KILL "${CDC_PIDS[$1]}" 2>/dev/null || true
  wait "${CDC_PIDS[$1]}" 2>/dev/null || true
}
# kill_while PID NAME...: while process PID runs, kills one of the pipelines NAME… with SIGKILL
# every 1–3 s and starts it again; the number of kills in $KILLS.
kill_while() {
  local pid=$1 name
  shift
  local names=("$@")
  KILLS=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep "$((1 + RANDOM % 2)).$((RANDOM % 10))"
    name=${names[$((RANDOM % ${#names[@]}))]}
    kill_cdc "$name"
    start_cdc "$name"
    KILLS=$((KILLS + 1))
  done
}

# wait_for DESCRIPTION CONDITION: polls until the shell CONDITION (evaluated anew each time)
# holds; a guard against a hang, not a speed check: it allows ten minutes. On failure the
# pipelines' logs are shown.
wait_for() {
  for _ in $(seq "${NILUS_TEST_WAIT:-1200}"); do
    if eval "$2" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  tail -n 30 "$WORK"/*.log >&2
  fail "gave up waiting for: $1"
}
