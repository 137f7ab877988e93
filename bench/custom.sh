#!/usr/bin/env bash
# A Python custom source -> SQLite: nilus running a generator of dicts (bench/custom/gen_source.py,
# five simple fields a row) beside the ceiling, a plain Python loop that only iterates the same
# generator, and beside a plain Python loader (the generator into SQLite with the sqlite3
# module's executemany, 10,000 rows a transaction batch), in the same run.
# Reports rows/s and peak RSS (medians of RUNS runs); speed/ref is against the plain loop.
#
#   bench/custom.sh [ROWS ...]     (default: 1000000)
source "$(dirname "$0")/lib.sh"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000)
code=$BENCH_DIR/custom

clean() { rm -rf "$work"/*.db* "$work/home"; }

report_header
for n in "${sizes[@]}"; do
  measure loop /usr/bin/python3 -c "
import sys; sys.path.insert(0, '$code')
from gen_rows import rows
for r in rows($n): pass"
  ref=$SECS
  report "$n" "python3: iterate the generator" 0 "$ref"

  BEFORE_EACH=clean measure executemany /usr/bin/python3 -c "
import itertools, sqlite3, sys; sys.path.insert(0, '$code')
from gen_rows import rows
db = sqlite3.connect('$work/py.db')
db.execute('CREATE TABLE gen (id INTEGER, name TEXT, amount REAL, active INTEGER, region TEXT)')
it = rows($n)
while True:
    chunk = [tuple(r.values()) for r in itertools.islice(it, 10000)]
    if not chunk: break
    db.executemany('INSERT INTO gen VALUES (?, ?, ?, ?, ?)', chunk)
db.commit()"
  report "$n" "python3: sqlite3 executemany" 0 "$ref"

  BEFORE_EACH=clean NILUS_HOME=$work/home measure nilus "$NILUS" ingest --source-uri "custom://GenSource?n=$n" \
    --python-path "$code" --dest-uri "sqlite:///$work/nilus.db" --dest-table raw.gen --log-level warn
  got=$(sqlite3 "$work/nilus.db" "SELECT count(*), sum(id) FROM raw__gen")
  [ "$got" = "$n|$((n * (n - 1) / 2))" ] || { echo "nilus loaded $got, expected $n rows" >&2; exit 1; }
  report "$n" "nilus ingest custom://" 0 "$ref"
done
