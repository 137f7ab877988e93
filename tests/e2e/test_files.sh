# File sources: globs (each file loaded once, new files picked up), compressed input, CSV
# dialect options, type inference and hints, and new columns added to the destination.
source "$(dirname "$0")/lib.sh"
mkdir in
gen_orders in/part-001.csv 1 500
gen_orders in/part-002.csv 501 500
dst="sqlite:///$WORK/dst.db"
glob() { expect_ok ingest --source-uri "file://$WORK/in/*.csv" --source-table orders --dest-uri "$dst" --dest-table raw.orders "$@"; }

glob
expect_query dst.db "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM raw__orders" "1000|1000|1|1000"
# inferred types
expect_query dst.db "SELECT group_concat(name || ' ' || type, ', ') FROM pragma_table_info('raw__orders')" \
  "id BIGINT, customer TEXT, amount DOUBLE, qty BIGINT, paid BOOLEAN, created_at TIMESTAMPTZ, note TEXT, _nilus_load_id TEXT"
# the same row set as sqlite3's own import
import_csv ref.db o in/part-001.csv
import_csv ref.db o2 in/part-002.csv
expect_same ref.db "SELECT id, customer, printf('%.2f', amount), qty, note FROM (SELECT * FROM o UNION ALL SELECT * FROM o2) ORDER BY CAST(id AS INT)" \
  dst.db "SELECT id, customer, printf('%.2f', amount), qty, note FROM raw__orders ORDER BY id"

# a new file is picked up, the old ones are not read again
gen_orders in/part-003.csv 1001 250
glob
expect_query dst.db "SELECT count(*), count(DISTINCT id), max(id) FROM raw__orders" "1250|1250|1250"
glob
expect_query dst.db "SELECT count(*) FROM raw__orders" "1250"
expect_query dst.db "SELECT group_concat(rows) FROM (SELECT rows FROM _nilus_loads ORDER BY finished_at)" "1000,250,0"

# compressed files: gzip and zstd, with a new column in the new file
printf 'id,customer,amount,qty,paid,created_at,note,channel\n2001,c,1.50,1,true,2024-02-01T00:00:00Z,x,web\n' >in/part-004.csv
gzip in/part-004.csv
printf 'id,customer,amount,qty,paid,created_at,note,channel\n2002,d,2.50,2,false,2024-02-02T00:00:00Z,y,shop\n' | zstd -q -o in/part-005.csv.zst
expect_ok ingest --source-uri "file://$WORK/in/part-00[45].csv*" --dest-uri "$dst" --dest-table raw.orders
expect_query dst.db "SELECT id, channel FROM raw__orders WHERE id > 2000 ORDER BY id" "2001|web
2002|shop"
expect_query dst.db "SELECT count(*) FROM raw__orders WHERE channel IS NULL" "1250"
expect_query dst.db "SELECT type FROM pragma_table_info('raw__orders') WHERE name = 'channel'" "TEXT"

# dialect options in the address; type-hints win over inference; leading zeros stay text;
# with null=NA an empty field is an empty string, so "when" is text
printf 'code;price;when\n007;1.10;2024-05-01\n;2.20;\nNA;3.30;2024-05-03\n' >semi.txt
expect_ok ingest --source-uri "csv://$WORK/semi.txt?delimiter=;&null=NA" --dest-uri "$dst" --dest-table raw.semi \
  --type-hints "price:decimal(5,2)"
expect_query dst.db "SELECT quote(code), price, typeof(price), \"when\" FROM raw__semi ORDER BY price" "'007'|1.10|text|2024-05-01
''|2.20|text|
NULL|3.30|text|2024-05-03"
expect_query dst.db "SELECT group_concat(type, ',') FROM pragma_table_info('raw__semi')" "TEXT,DECIMAL_TEXT(5,2),TEXT,TEXT"

# header=false names the columns column_1 …; quoted fields keep delimiters, quotes and line breaks
printf '1,"a, ""quoted""\nvalue"\n2,plain\n' >nohdr.csv
expect_ok ingest --source-uri "file://$WORK/nohdr.csv?header=false" --dest-uri "$dst" --dest-table raw.nohdr
expect_query dst.db "SELECT column_1, column_2 FROM raw__nohdr ORDER BY column_1" '1|a, "quoted"
value
2|plain'

# JSONL: nested values become json columns, fields missing in a line are NULL
cat >in.jsonl <<'JSON'
{"id": 1, "user": {"name": "a", "langs": ["c", "go"]}, "n": 1}
{"id": 2, "n": 2.5, "extra": "x"}

{"id": 3, "user": null, "n": 12345678901234567890}
JSON
expect_ok ingest --source-uri "file://$WORK/in.jsonl" --dest-uri "$dst" --dest-table raw.js
expect_query dst.db "SELECT id, user, n, extra FROM raw__js ORDER BY id" '1|{"name":"a","langs":["c","go"]}|1|
2||2.5|x
3||12345678901234567890|'
expect_query dst.db "SELECT group_concat(type, ',') FROM pragma_table_info('raw__js')" "BIGINT,JSON_TEXT,DECIMAL_TEXT,TEXT,TEXT"

# a hint on one column leaves the others to inference: they keep the types they have without it
expect_ok ingest --source-uri "file://$WORK/in.jsonl" --dest-uri "$dst" --dest-table raw.js2 --type-hints "id:text"
expect_query dst.db "SELECT count(*), group_concat(typeof(id)) FROM raw__js2" "3|text,text,text"
expect_query dst.db "SELECT group_concat(name || ' ' || type, ', ') FROM pragma_table_info('raw__js2')" \
  "id TEXT, user JSON_TEXT, n DECIMAL_TEXT, extra TEXT, _nilus_load_id TEXT"

# A large file is typed on two threads, each half by its own reader: a value in the second half
# still decides the type; a quoted line break across the middle still parses; an error in the
# second half still names its line.
awk 'BEGIN { print "id,v,note"; for (i = 1; i <= 900000; i++) printf "%d,%d,\"n%d\"\n", i, i, i }' >big.csv
cp big.csv big_text.csv
echo '900001,not a number,"x"' >>big_text.csv
expect_ok ingest --source-uri "file://$WORK/big_text.csv" --dest-uri "$dst" --dest-table raw.big_text --log-level debug
expect_err_contains "typing the two halves on two threads"
expect_err_lacks "typing the rest on one thread"
expect_query dst.db "SELECT type FROM pragma_table_info('raw__big_text') WHERE name = 'v'" "TEXT"
expect_ok ingest --source-uri "file://$WORK/big.csv" --dest-uri "$dst" --dest-table raw.big_int
expect_query dst.db "SELECT type FROM pragma_table_info('raw__big_int') WHERE name = 'v'" "BIGINT"
size=$(stat -c %s big.csv)
awk -v half=$((size / 2)) 'BEGIN { print "id,v,note" } NR > 1 { bytes += length($0) + 1; if (!done && bytes > half - 300) { printf "%d,%d,\"", $1, $2; for (k = 0; k < 40; k++) printf "line,with,commas %02d\n", k; print "\""; done = 1 } else print }' big.csv >big_quoted.csv
expect_ok ingest --source-uri "file://$WORK/big_quoted.csv" --dest-uri "$dst" --dest-table raw.big_quoted \
  --log-level debug
expect_err_contains "no record starts at the middle; typing the rest on one thread"
expect_query dst.db "SELECT count(*), sum(note LIKE '%line,with,commas%') FROM raw__big_quoted" "900000|1"
expect_query dst.db "SELECT type FROM pragma_table_info('raw__big_quoted') WHERE name = 'v'" "BIGINT"
awk 'NR == 800001 { print "800000,1" ; next } { print }' big.csv >big_bad.csv
expect_exit 2 ingest --source-uri "file://$WORK/big_bad.csv" --dest-uri "$dst" --dest-table raw.big_bad --log-level debug
expect_err_contains "the second half has an error; typing the rest on one thread"
expect_err_contains "big_bad.csv:800001: 2 fields, but the header has 3"

# "" is the empty string, never NULL (NULL only through null=), even alone and at the end of the file
printf 'id,a,b\n1,"",""' >empty.csv
expect_ok ingest --source-uri "file://$WORK/empty.csv" --dest-uri "$dst" --dest-table raw.empty
expect_query dst.db "SELECT id, quote(a), quote(b) FROM raw__empty" "1|''|''"
printf 'id,a\n1,NA\n2,\n3,""\n' >nulls.csv
expect_ok ingest --source-uri "csv://$WORK/nulls.csv?null=NA" --dest-uri "$dst" --dest-table raw.nulls
expect_query dst.db "SELECT id, quote(a) FROM raw__nulls ORDER BY id" "1|NULL
2|''
3|''"
done_ok
