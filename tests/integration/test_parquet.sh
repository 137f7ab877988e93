# The Parquet writer (src/nilus/formats/parquet), read back by DuckDB: every type, NULLs, row
# groups, pages, dictionaries, statistics, field ids and codecs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
NILUS_DUCKDB_QUERY=$(bash "$here/../tools/duckdb/ensure.sh")
export NILUS_DUCKDB_QUERY
"${NILUS_PARQUET_TESTS:?the path of nilus_parquet_tests}" --gtest_brief=1
