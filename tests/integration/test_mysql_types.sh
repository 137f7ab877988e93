# Every MySQL/MariaDB type read from MariaDB, exact per column: into PostgreSQL (the closest
# exact type, checked with psql against the mariadb client), into SQLite (checked with
# sqlite3), into the lakehouse (DuckDB reading the Parquet files), zero dates as NULL or an
# error, a query's columns, and sql-reflection-level.
source "$(dirname "$0")/pg_lib.sh"
source "$(dirname "$0")/my_lib.sh"
pg_start
my_start
mariadb --no-defaults --socket="$MY_SOCKET" -uroot --default-character-set=utf8mb4 \
  <"$ROOT/tests/integration/mysql/every_type.sql"
sql "CREATE DATABASE dst" >/dev/null
my_text_types() {  # my_text_types SQL: rows of shop as the mariadb client prints them, unescaped
  mariadb --no-defaults --socket="$MY_SOCKET" -uroot --default-character-set=utf8mb4 --batch --raw \
    --skip-column-names shop -e "$1"
}

# --- into PostgreSQL ------------------------------------------------------------------------------
expect_ok ingest --source-uri "$MY_URI/shop" --source-table every_type --dest-uri "$PG_URI/dst" \
  --dest-table copy.every_type --page-size 2
expect_sql dst "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'copy.every_type'::regclass AND attnum > 0 AND attname <> '_nilus_load_id'" \
  "id integer, c_tinyint smallint, c_tinyint_u smallint, c_bool smallint, c_smallint smallint, \
c_smallint_u integer, c_mediumint integer, c_int integer, c_int_u bigint, c_bigint bigint, c_bigint_u numeric(20,0), \
c_decimal numeric(65,30), c_decimal_ps numeric(12,2), c_float real, c_double double precision, c_bit1 boolean, \
c_bit10 bigint, c_bit64 numeric(20,0), c_date date, c_datetime timestamp without time zone, \
c_datetime6 timestamp(6) without time zone, c_timestamp6 timestamp(6) with time zone, c_time interval, \
c_time6 interval, c_year smallint, c_char character varying(5), c_varchar character varying(40), c_text text, \
c_latin1 character varying(20), c_utf8mb3 character varying(20), c_cp1251 character varying(20), \
c_sjis character varying(20), c_ucs2 character varying(20), c_binary bytea, c_varbinary bytea, c_blob bytea, \
c_enum text, c_set text, c_json jsonb, c_geometry bytea, c_point bytea, c_uuid uuid, c_inet6 inet"
# the columns whose text is the same in both clients, compared with the source itself
plain="id, c_tinyint, c_tinyint_u, c_bool, c_smallint, c_smallint_u, c_mediumint, c_int, c_int_u, c_bigint, c_bigint_u,
  c_decimal, c_decimal_ps, c_datetime6, c_year, c_char, c_varchar, c_text, c_latin1, c_utf8mb3, c_cp1251, c_sjis, c_ucs2,
  c_enum, c_set, c_uuid"
expect_output "the plain columns in PostgreSQL" \
  "$(mariadb --no-defaults --socket="$MY_SOCKET" -uroot --default-character-set=utf8mb4 --batch --raw \
     --skip-column-names shop -e "SELECT $plain FROM every_type ORDER BY id" | sed 's/NULL//g')" \
  psql -qXAt -F $'\t' -d dst -c "SELECT $plain FROM copy.every_type ORDER BY id"
# the others, as the source's values are written in PostgreSQL
expect_sql dst "SELECT id, c_float, c_double, c_bit1, c_bit10, c_bit64, c_date, c_datetime, c_timestamp6, c_time, c_time6,
  c_binary, c_varbinary, c_blob, c_json, c_geometry, c_point, c_inet6 FROM copy.every_type ORDER BY id" \
  "1|3.4028235e+38|1.7976931348623157e+308|t|682|18446744073709551615|2024-02-29|2024-01-01 00:00:00|\
2038-01-19 03:14:07.999999+00|838:59:59|-838:59:59|\\x00ff1000|\\x|\\xdeadbeef|{\"a\": \"x\", \"b\": [1, 2.50, null]}|\
\\x01020000000200000000000000000000000000000000000000000000000000f03f000000000000f03f|\
\\x0101000000000000000000f03f0000000000000040|2001:db8::1
2|1.6777216e+07|0|f|0|0|||1970-01-01 00:00:01+00|00:00:00|-00:00:01.5|\\x00000000|\\x00|\\x|[]|||::
3|||||||||||||||||"
# the geometry is WKB, as PostGIS-less readers take it: the source's ST_AsBinary
expect_output "geometry as WKB" "$(mysql_sql shop "SELECT lower(hex(ST_AsBinary(c_point))) FROM every_type WHERE id = 1")" \
  sql dst "SELECT encode(c_point, 'hex') FROM copy.every_type WHERE id = 1"

# --- into SQLite ---------------------------------------------------------------------------------
expect_ok ingest --source-uri "$MY_URI/shop" --source-table every_type --dest-uri "sqlite:///$WORK/t.db" \
  --dest-table main.every_type
expect_query t.db "SELECT id, c_bigint_u, typeof(c_int_u), c_decimal, c_float IN (3.4028234663852886e38, 16777216), c_double IN (1.7976931348623157e308, 0),
  c_bit1, c_bit10, c_bit64, c_date, c_timestamp6, c_time6, hex(c_binary), hex(c_blob), c_json, hex(c_point), c_uuid
  FROM every_type ORDER BY id" \
  "1|18446744073709551615|integer|12345678901234567890123456789012345.123456789012345678901234567890|\
1|1|1|682|18446744073709551615|2024-02-29|2038-01-19 03:14:07.999999+00:00|\
-838:59:59.000000|00FF1000|DEADBEEF|{\"b\": [1, 2.50, null], \"a\": \"x\"}|0101000000000000000000F03F0000000000000040|\
a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11
2|9223372036854775808|integer|-0.000000000000000000000000000001|1|1|0|0|0||1970-01-01 00:00:01+00:00|\
-00:00:01.500000|00000000||[]||00000000-0000-0000-0000-000000000000
3||null||||||||||||||"
expect_output "the text columns in SQLite" \
  "$(mariadb --no-defaults --socket="$MY_SOCKET" -uroot --default-character-set=utf8mb4 --batch --raw \
     --skip-column-names shop -e "SELECT id, c_varchar, c_latin1, c_cp1251, c_sjis, c_ucs2 FROM every_type ORDER BY id" |
     sed 's/NULL//g')" \
  sqlite3 -batch -noheader -separator $'\t' t.db "SELECT id, c_varchar, c_latin1, c_cp1251, c_sjis, c_ucs2 FROM every_type ORDER BY id"

# --- into the lakehouse: DuckDB reads the Parquet files with the types of docs/connectors/lakehouse.md
DUCKDB=$(bash "$ROOT/tests/tools/duckdb/ensure.sh")
expect_ok ingest --source-uri "$MY_URI/shop" --source-table every_type --dest-uri "lakehouse://$WORK/lake" \
  --dest-table copy.every_type
parquet="read_parquet('$WORK/lake/copy/every_type/data/*.parquet')"
expect_output "the Parquet types" "id:BIGINT c_bigint_u:DECIMAL(20,0) c_decimal:VARCHAR c_decimal_ps:DECIMAL(12,2) \
c_float:DOUBLE c_bit1:BOOLEAN c_date:DATE c_datetime6:TIMESTAMP c_timestamp6:TIMESTAMP WITH TIME ZONE c_time:VARCHAR \
c_varchar:VARCHAR c_blob:BLOB c_json:VARCHAR c_uuid:UUID" \
  sh -c "node '$DUCKDB' \"SELECT column_name || ':' || column_type FROM (DESCRIBE SELECT id, c_bigint_u, c_decimal, \
c_decimal_ps, c_float, c_bit1, c_date, c_datetime6, c_timestamp6, c_time, c_varchar, c_blob, c_json, c_uuid FROM $parquet)\" \
| tr '\n' ' ' | sed 's/ $//'"
expect_output "the values in Parquet" \
  "$(my_text_types "SELECT id, c_bigint_u, c_decimal, c_decimal_ps, NULLIF(c_date, '0000-00-00'), c_datetime6,
     hex(c_varchar), hex(c_blob), c_uuid FROM every_type WHERE id IN (1, 2) ORDER BY id" | tr '\t' '|')" \
  node "$DUCKDB" "SELECT id, c_bigint_u, c_decimal, c_decimal_ps, coalesce(c_date::text, 'NULL'),
     strftime(c_datetime6, '%Y-%m-%d %H:%M:%S.%f'), hex(c_varchar), hex(c_blob), c_uuid FROM $parquet
     WHERE id IN (1, 2) ORDER BY id"

# --- zero dates ------------------------------------------------------------------------------------
expect_exit 2 ingest --source-uri "$MY_URI/shop?zeroDateTimeBehavior=exception" --source-table every_type \
  --dest-uri "sqlite:///$WORK/z.db" --dest-table main.every_type
expect_err_contains "table every_type, row 2, column 'c_date'"
expect_err_contains "zeroDateTimeBehavior=convertToNull"
expect_query z.db "SELECT count(*) FROM sqlite_master WHERE name = 'every_type'" "0"
expect_exit 2 ingest --source-uri "$MY_URI/shop?zeroDateTimeBehavior=round" --source-table every_type \
  --dest-uri "sqlite:///$WORK/z.db" --dest-table main.every_type
expect_err_contains "use convertToNull"
expect_exit 2 ingest --source-uri "$MY_URI/shop?sslmode=require" --source-table every_type \
  --dest-uri "sqlite:///$WORK/z.db" --dest-table main.every_type
expect_err_contains "unknown parameter 'sslmode'"
expect_err_contains "ssl-mode"

# --- a query's columns, typed by what the server says of them --------------------------------------
expect_ok ingest --source-uri "$MY_URI/shop" \
  --source-table "query:SELECT id, c_int_u * 2 AS doubled, CONCAT(c_char, '!') AS s, c_float, c_json, c_datetime6 FROM every_type WHERE id < 3" \
  --dest-uri "$PG_URI/dst" --dest-table copy.from_query
expect_sql dst "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'copy.from_query'::regclass AND attnum > 0 AND attname <> '_nilus_load_id'" \
  "id integer, doubled numeric(20,0), s text, c_float real, c_json jsonb, c_datetime6 timestamp(6) without time zone"
expect_sql dst "SELECT id, doubled, s, c_float FROM copy.from_query ORDER BY id" "1|8589934590|ab!|3.4028235e+38
2|0|!|1.6777216e+07"

# --- sql-reflection-level ----------------------------------------------------------------------------
for level in fast none; do
  cat >"$WORK/reflect-$level.yaml" <<YAML
source:
  address: $MY_URI/shop
  options: {source-table: every_type, sql-reflection-level: $level}
sink:
  address: $PG_URI/dst
  options: {dest-table: copy.$level, incremental-strategy: replace}
YAML
  expect_ok run "$WORK/reflect-$level.yaml"
done
expect_sql dst "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'copy.fast'::regclass AND attname IN ('c_decimal_ps', 'c_varchar', 'c_int_u', 'c_datetime6')" \
  "c_int_u bigint, c_decimal_ps numeric, c_datetime6 timestamp without time zone, c_varchar character varying"
expect_sql dst "SELECT string_agg(DISTINCT format_type(atttypid, atttypmod), ', ') FROM pg_attribute WHERE attrelid = 'copy.none'::regclass AND attnum > 0" \
  "bigint, boolean, bytea, numeric(20,0), text"
expect_sql dst "SELECT c_int_u, c_decimal_ps, c_date FROM copy.none ORDER BY id" "4294967295|1234567890.12|2024-02-29
0|-0.01|0000-00-00
||"
done_ok
