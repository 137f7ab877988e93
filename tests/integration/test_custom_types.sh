# Every Python value type a custom source yields lands with its type in PostgreSQL (read back
# with psql) and in the lakehouse (its Parquet files read by DuckDB), and a custom destination
# receives PostgreSQL's types back as Python values.
source "$(dirname "$0")/pg_lib.sh"
pg_start
sql "CREATE DATABASE dst" >/dev/null
cp -r "$ROOT/tests/e2e/custom" conn

expect_ok ingest --source-uri custom://TypesSource --python-path conn --dest-uri "$PG_URI/dst" --dest-table raw.typed
expect_sql dst "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position)
  FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = 'typed'" \
  "id bigint, flag boolean, small bigint, big numeric, ratio double precision, price numeric, name text, raw bytea, day date, clock time without time zone, naive timestamp without time zone, aware timestamp with time zone, uid uuid, doc jsonb, items jsonb, color text, utc timestamp with time zone, _nilus_load_id text"
expect_sql dst "SET timezone = 'UTC'; SELECT id, flag, small, big, ratio, price, name, encode(raw, 'hex'), day, clock, naive, aware,
  uid, doc, items, color, utc FROM raw.typed" \
  "1|t|-7|1180591620717411303424|0.1|12345.6789|Zoë ✓|00ff6e696c7573|2024-02-29|23:59:58.123456|2024-03-01 12:30:00.0005|2024-03-01 12:30:00+00|12345678-1234-5678-1234-567812345678|{\"k\": [1, \"two\", null, {\"three\": 3.5}]}|[1, 2, 3]|red|1969-12-31 23:59:59.999999+00"

# The lakehouse: DuckDB reads the data files nilus wrote.
DUCKDB=$(bash "$ROOT/tests/tools/duckdb/ensure.sh")
expect_ok ingest --source-uri custom://TypesSource --python-path conn --dest-uri lakehouse://wh --dest-table raw.typed
files=$(ls wh/raw/typed/data/*.parquet | sed "s/.*/'&'/" | paste -sd,)
got=$(node "$DUCKDB" "SET TimeZone = 'UTC'; SELECT id, flag, small, big, ratio, price, name, hex(raw), day, clock, naive, aware, uid, doc,
  color, utc FROM read_parquet([$files])")
[ "$got" = "1|true|-7|1180591620717411303424|0.1|12345.6789|Zoë ✓|00FF6E696C7573|2024-02-29|23:59:58.123456|2024-03-01 12:30:00.0005|2024-03-01 12:30:00+00|12345678-1234-5678-1234-567812345678|{\"k\":[1,\"two\",null,{\"three\":3.5}]}|red|1969-12-31 23:59:59.999999+00" ] ||
  fail "DuckDB read: $got"
CHECKS=$((CHECKS + 1))

# PostgreSQL to a custom destination: the values arrive with their Python types.
cat >conn/echo_destination.py <<'PY'
import json, os
import nilus
from nilus import CustomDestination

class EchoDestination(CustomDestination):
    def nilus_dest(self, uri, **kwargs):
        @nilus.destination
        def write(items, table):
            with open(os.environ["ECHO_FILE"], "a") as f:
                for row in items:
                    f.write(json.dumps({k: [type(v).__name__, repr(v)] for k, v in sorted(row.items())}) + "\n")
        return write
PY
export ECHO_FILE=$WORK/echo.jsonl
expect_ok ingest --source-uri "$PG_URI/dst" --source-table raw.typed --python-path conn --dest-uri custom://EchoDestination \
  --dest-table out.typed
python3 - "$ECHO_FILE" <<'PY' || fail "the destination's values"
import json, sys
row = json.loads(open(sys.argv[1]).readline())
want = {
    "flag": ["bool", "True"], "small": ["int", "-7"], "big": ["Decimal", "Decimal('1180591620717411303424')"],
    "ratio": ["float", "0.1"], "price": ["Decimal", "Decimal('12345.6789')"], "name": ["str", "'Zoë ✓'"],
    "raw": ["bytes", "b'\\x00\\xffnilus'"], "day": ["date", "datetime.date(2024, 2, 29)"],
    "clock": ["time", "datetime.time(23, 59, 58, 123456)"],
    "naive": ["datetime", "datetime.datetime(2024, 3, 1, 12, 30, 0, 500)"],
    "aware": ["datetime", "datetime.datetime(2024, 3, 1, 12, 30, tzinfo=datetime.timezone.utc)"],
    "uid": ["UUID", "UUID('12345678-1234-5678-1234-567812345678')"],
    "doc": ["dict", "{'k': [1, 'two', None, {'three': 3.5}]}"], "items": ["list", "[1, 2, 3]"],
}
bad = {k: (row.get(k), v) for k, v in want.items() if row.get(k) != v}
assert not bad, bad
assert row["_nilus_load_id"][0] == "str"
PY
CHECKS=$((CHECKS + 1))
echo "custom connector types: $CHECKS checks passed"
