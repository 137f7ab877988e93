# The destination contract (one transaction over several tables with one state row, rows with
# an operation, rollback, the pipeline lock) on SQLite and on PostgreSQL and MariaDB servers of its
# own.
source "$(dirname "$0")/pg_lib.sh"
source "$(dirname "$0")/my_lib.sh"
pg_start
my_start
sql "CREATE DATABASE dest" >/dev/null
export NILUS_TEST_PG_URI="$PG_URI/dest" NILUS_TEST_MY_URI="$MY_URI" NILUS_TEST_MY_SOCKET="$MY_SOCKET"
"${NILUS_DESTINATION_TESTS:?the path of nilus_destination_tests}" --gtest_brief=1 || fail "destination contract"
CHECKS=$((CHECKS + 1))
done_ok
