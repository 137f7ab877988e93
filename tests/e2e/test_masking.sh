# mask: sensitive values never reach the destination; deterministic ones still join.
source "$(dirname "$0")/lib.sh"
cat >people.csv <<'CSV'
id,name,email,phone,card,salary,born
1,Jonathan,john.doe@example.com,+1-555-123-4567,4111-1111-1111-1111,52300,1990-05-17
2,Alice,alice@example.com,+1-555-987-6543,5500-0000-0000-0004,47400,1985-11-02
CSV
dst="sqlite:///$WORK/dst.db"
expect_ok ingest --source-uri "file://$WORK/people.csv" --dest-uri "$dst" --dest-table raw.people \
  --mask "name:partial:2,email:email,phone:phone,card:credit_card,salary:round:5000,born:year_only" \
  --type-hints "born:text"
expect_query dst.db "SELECT id, name, email, phone, card, salary, born FROM raw__people ORDER BY id" \
"1|Jo****an|j******e@example.com|+1-555-***-****|****-****-****-1111|50000|1990
2|Al*ce|a***e@example.com|+1-555-***-****|****-****-****-0004|45000|1985"
grep -rq "john.doe" dst.db* && fail "an unmasked value reached the destination"
CHECKS=$((CHECKS + 1))

# deterministic masks give the same value in every run, so masked keys still join
expect_ok ingest --source-uri "file://$WORK/people.csv" --dest-uri "$dst" --dest-table raw.h1 --mask "email:hash"
expect_ok ingest --source-uri "file://$WORK/people.csv" --dest-uri "$dst" --dest-table raw.h2 --mask "email:hash"
expect_query dst.db "SELECT count(*) FROM raw__h1 JOIN raw__h2 USING (email)" "2"
expect_query dst.db "SELECT email FROM raw__h1 WHERE id = 2" "$(printf 'alice@example.com' | sha256sum | cut -d' ' -f1)"

# sequential: 1, 2, 3 … per distinct value, continued by the next run (the numbering is committed
# with the data)
mkdir seq
printf 'id,email\n1,a@x.org\n2,b@x.org\n3,a@x.org\n' >seq/1.csv
seq_load() { expect_ok ingest --source-uri "file://$WORK/seq/*.csv" --dest-uri "$dst" --dest-table raw.seq --mask "email:sequential"; }
seq_load
printf 'id,email\n4,c@x.org\n5,b@x.org\n' >seq/2.csv
seq_load
expect_query dst.db "SELECT group_concat(email, ',') FROM (SELECT email FROM raw__seq ORDER BY id)" "1,2,1,3,2"
grep -rq "x.org" dst.db* && fail "an unmasked value reached the destination"
CHECKS=$((CHECKS + 1))

# JSON documents are masked too, nested fields by their column name
printf '{"id": 1, "user": {"email": "john.doe@example.com"}}\n' >people.jsonl
cat >nested.yaml <<YAML
source:
  address: jsonl://$WORK/people.jsonl
  options: {max-table-nesting: 1, mask: {user__email: email}}
sink:
  address: $dst
  options: {dest-table: raw.jpeople, incremental-strategy: append}
YAML
expect_ok run nested.yaml
expect_query dst.db "SELECT user__email FROM raw__jpeople" "j******e@example.com"

# an error about a masked column does not show its value
expect_exit 2 ingest --source-uri "file://$WORK/people.csv" --dest-uri "$dst" --dest-table raw.bad --mask "email:hash" \
  --type-hints "email:bigint"
expect_err_contains "column 'email': the value (masked, not shown) is not a bigint value"
expect_err_lacks "john.doe"
printf '{"email": "john.doe@example.com"}\n' >hinted.jsonl
expect_exit 2 ingest --source-uri "jsonl://$WORK/hinted.jsonl" --dest-uri "$dst" --dest-table raw.bad --mask "email:hash" \
  --type-hints "email:bigint"
expect_err_contains "the value (masked, not shown)"
expect_err_lacks "john.doe"

# a text-yielding mask on a number column needs a type hint; bad rules fail validation
expect_exit 2 ingest --source-uri "file://$WORK/people.csv" --dest-uri "$dst" --dest-table raw.bad --mask "salary:redact"
expect_err_contains "add a type-hints entry 'salary: text'"
expect_query dst.db "SELECT count(*) FROM sqlite_schema WHERE name = 'raw__bad'" "0"
cat >bad.yaml <<YAML
source:
  address: file://$WORK/people.csv
  options:
    mask: {name: partial, email: scramble}
sink:
  address: $dst
  options: {dest-table: raw.x, incremental-strategy: append}
YAML
expect_exit 2 validate bad.yaml
expect_err_contains "partial needs a parameter"
# a masked column the source does not have is caught by validate (CSV headers, SQL catalogs)
sed -e 's/{name: partial, email: scramble}/{emial: hash}/' bad.yaml >typo.yaml
expect_exit 2 validate typo.yaml
expect_err_contains "mask names column 'emial'"
expect_err_contains "did you mean 'email'"
sed -e 's/{name: partial, email: scramble}/{Email: hash}/' bad.yaml >ok.yaml
expect_ok validate ok.yaml
done_ok
