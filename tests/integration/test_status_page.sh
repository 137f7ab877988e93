#!/usr/bin/env bash
# The status page of nilus serve in a real browser (Debian's Chromium, headless): over a history
# of workflow runs (one failing) and a PostgreSQL change-capture service, all run by nilus serve
# --manifests with a token, the page shows the pipelines, the failure with its error, the service
# with its changes and lag, and the schedules; it loads nothing from elsewhere and logs no
# console message. The screenshot is kept as $NILUS_SCREENSHOT when that is set.
source "$(dirname "$0")/pg_lib.sh"
pg_start
sql "CREATE DATABASE shop"
sql shop "CREATE TABLE orders (id int PRIMARY KEY, amount int)"
sql shop "INSERT INTO orders SELECT g, g FROM generate_series(1, 50) g"
mkdir "$WORK/m"
cdc_manifest changes "sqlite:///$WORK/log.db" append retail "topic.prefix: cdc" "heartbeat.interval.ms: 1000" \
  'table.include.list: "public.orders"'
mv "$WORK/changes.yaml" "$WORK/m/"
printf 'id,name\n1,ann\n2,bob\n3,cy\n' >"$WORK/customers.csv"
workflow() {  # NAME SOURCE
  cat >"$WORK/m/$1.yaml" <<YAML
name: $1
type: workflow
workflow:
  schedule: {cron: "*/2 * * * * *", concurrencyPolicy: Forbid}
  dag:
    - name: load
      spec:
        stackSpec:
          source: {address: "$2"}
          sink: {address: "sqlite:///$WORK/dst.db", options: {dest-table: raw.$1, incremental-strategy: replace}}
YAML
}
workflow customers "file://$WORK/customers.csv"
workflow broken "file://$WORK/missing.csv"

TOKEN=page-token-$RANDOM$RANDOM
PORT=$(free_port)
NILUS_API_TOKEN=$TOKEN "$NILUS_BIN" serve --listen "127.0.0.1:$PORT" --manifests "$WORK/m" >"$WORK/serve.log" 2>&1 &
api() { curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$1"; }
runs() { api "/api/v1/pipelines?dataos_resource_id=$1&is_success=$2" | python3 -c "import json, sys; print(json.load(sys.stdin)['total'])"; }
wait_for "runs of customers" '[ "$(runs customers.load true)" -ge 2 ]'
wait_for "a failed run of broken" '[ "$(runs broken.load false)" -ge 1 ]'
sql shop "INSERT INTO orders SELECT g, g FROM generate_series(51, 80) g"
wait_for "the service's report" '[ "$(api /api/v1/cdc/status | python3 -c "import json, sys; print(json.load(sys.stdin)[\"items\"][0][\"changes_applied\"])")" -ge 80 ]'

# The page itself: open (it holds no data), with a policy that allows nothing from elsewhere.
expect_output "the page without a token" 200 curl -s -o "$WORK/page.html" -w '%{http_code}' "http://127.0.0.1:$PORT/"
expect_output "its policy" 1 sh -c "curl -sI http://127.0.0.1:$PORT/ | grep -ci \"content-security-policy: default-src 'none'\""
if grep -Eo '(src|href)="[^"#]+' "$WORK/page.html" | grep -q .; then fail "the page loads something from elsewhere"; fi
CHECKS=$((CHECKS + 1))

# In Chromium: the DOM after its scripts ran, and a screenshot, with the token in the fragment.
chrome() {
  chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$WORK/chrome" \
    --window-size=1280,1200 --virtual-time-budget=5000 --enable-logging=stderr --v=0 "$@"
}
chrome --dump-dom "http://127.0.0.1:$PORT/#token=$TOKEN" >"$WORK/dom.html" 2>"$WORK/chrome.log"
chrome --screenshot="$WORK/page.png" "http://127.0.0.1:$PORT/#token=$TOKEN" 2>>"$WORK/chrome.log" >/dev/null
if grep -F ":CONSOLE" "$WORK/chrome.log"; then fail "the page logged to the console"; fi
CHECKS=$((CHECKS + 1))
# dom_text SELECTOR: the text of the elements SELECTOR matches, one per line, read with Python's
# HTML parser from the DOM Chromium built.
dom_text() {
  python3 - "$WORK/dom.html" "$1" <<'PY'
import sys
from html.parser import HTMLParser

path, table = sys.argv[1], sys.argv[2]

class Rows(HTMLParser):
    def __init__(self):
        super().__init__()
        self.depth = None
        self.rows, self.cells, self.cell = [], None, None
        self.level = 0

    def handle_starttag(self, tag, attrs):
        self.level += 1
        if dict(attrs).get("id") == table:
            self.depth = self.level
        if self.depth is None:
            return
        if tag == "tr":
            self.cells = []
        elif tag in ("td", "th", "strong", "pre") and self.cells is None:
            self.cell = ""
        elif tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if self.depth is not None:
            if tag in ("td", "th") and self.cells is not None and self.cell is not None:
                self.cells.append(self.cell.strip())
                self.cell = None
            elif tag == "tr" and self.cells is not None:
                self.rows.append(" | ".join(self.cells))
                self.cells = None
            elif tag in ("strong", "pre") and self.cells is None and self.cell is not None:
                self.rows.append(self.cell.strip())
                self.cell = None
            if self.level == self.depth:
                self.depth = None
        self.level -= 1

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

p = Rows()
p.feed(open(path).read())
print("\n".join(p.rows))
PY
}
dom_text pipelines >"$WORK/pipelines.txt"
dom_text cdc >"$WORK/cdc.txt"
dom_text manifests >"$WORK/manifests.txt"
dom_text failures >"$WORK/failures.txt"
grep -q "^customers.load | .* | success | " "$WORK/pipelines.txt" || { cat "$WORK/pipelines.txt"; fail "customers.load is not shown as a success"; }
grep -q "^broken.load | .* | failed | " "$WORK/pipelines.txt" || { cat "$WORK/pipelines.txt"; fail "broken.load is not shown as failed"; }
grep -q "^changes | streaming | [0-9,]* | [0-9.]* | [0-9,]* | [0-9A-F]*/[0-9A-F]* | " "$WORK/cdc.txt" ||
  { cat "$WORK/cdc.txt"; fail "the service is not shown streaming with its position"; }
grep -q "^customers | workflow | scheduled\|^customers | workflow | running" "$WORK/manifests.txt" ||
  { cat "$WORK/manifests.txt"; fail "the schedule of customers is not shown"; }
grep -q "^changes | service | running" "$WORK/manifests.txt" || { cat "$WORK/manifests.txt"; fail "the service is not shown running"; }
grep -q "missing.csv" "$WORK/failures.txt" || { cat "$WORK/failures.txt"; fail "the failure's error is not shown"; }
CHECKS=$((CHECKS + 6))
# The screenshot is a PNG of the window's size.
expect_output "the screenshot" "PNG 1280 1200" python3 -c "
import struct
b = open('$WORK/page.png', 'rb').read(24)
print(b[1:4].decode(), *struct.unpack('>II', b[16:24]))"
[ -z "${NILUS_SCREENSHOT:-}" ] || cp "$WORK/page.png" "$NILUS_SCREENSHOT"
if grep -qF "$TOKEN" "$WORK/serve.log"; then fail "the token is in the log"; fi
CHECKS=$((CHECKS + 1))
done_ok
