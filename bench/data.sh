# The generated data the benchmarks share.

# gen_orders_csv FILE ROWS: the benchmark's orders, 9 columns of mixed types, with a header.
gen_orders_csv() {
  awk -v n="$2" 'BEGIN {
    print "id,customer,email,amount,qty,paid,created_at,ship_date,note";
    for (i = 1; i <= n; i++)
      printf "%d,customer %d,user%d@example.com,%d.%02d,%d,%s,2024-%02d-%02dT%02d:%02d:%02dZ,2024-%02d-%02d,\"note %d, with comma\"\n",
        i, i % 100003, i, i % 100000, i % 100, i % 50, (i % 3 ? "true" : "false"),
        i % 12 + 1, i % 28 + 1, i % 24, i % 60, (i * 7) % 60, (i + 3) % 12 + 1, i % 28 + 1, i;
  }' >"$1"
}

# megabytes FILE: its size in MB.
megabytes() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", b / 1e6 }'; }

# orders FILE FIRST COUNT STEP VERSION: COUNT orders with ids FIRST, FIRST+STEP, …, the VERSION-th
# version of their values (the changes a merge brings).
orders() {
  awk -v first="$2" -v n="$3" -v step="$4" -v version="$5" 'BEGIN {
    print "id,customer,amount,qty,paid,created_at,note";
    for (k = 0; k < n; k++) {
      i = first + k * step;
      printf "%d,customer %d,%d.%02d,%d,%s,2024-01-%02dT%02d:%02d:00Z,version %d of %d\n",
        i, i % 100003, (i + version) % 100000, i % 100, i % 50, (i % 3 ? "true" : "false"), i % 28 + 1, i % 24,
        i % 60, version, i;
    }
  }' >"$1"
}
