# The file formats nilus writes itself, read back by readers it did not write: Parquet
# (src/nilus/formats/parquet) by DuckDB — every type, NULLs, row groups, pages, dictionaries,
# statistics, field ids and codecs; Avro containers (src/nilus/formats/avro) by python3-avro.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
NILUS_DUCKDB_QUERY=$(bash "$here/../tools/duckdb/ensure.sh")
export NILUS_DUCKDB_QUERY
export NILUS_AVRO_READ="$here/../tools/avro_read.py"
"${NILUS_FORMAT_TESTS:?the path of nilus_format_tests}" --gtest_brief=1
