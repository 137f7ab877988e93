# The parsers under libFuzzer, with AddressSanitizer and UndefinedBehaviorSanitizer: clang builds
# every *_fuzz.cc target from the few modules it tests (the CSV reader; the Parquet reader; JSON documents through the
# Normalize stage; PostgreSQL's binary COPY decoder; pgoutput messages and replicated values; binary
# log row events and values), and each runs a fixed number of inputs grown
# from its seed corpus (tests/fuzz/corpus/<target>). A crash, a sanitizer report or a trap fails
# the test and leaves the input that caused it in the log.
#
# CI runs a short campaign; a long one is NILUS_FUZZ_RUNS=5000000 bash tests/fuzz/test_fuzz.sh
set -euo pipefail
ROOT=${NILUS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=$ROOT/build/fuzz
RUNS=${NILUS_FUZZ_RUNS:-30000}
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" -DNILUS_SANITIZE=ON -DNILUS_FUZZ=ON -DNILUS_WERROR=OFF >/dev/null
targets=()
while IFS= read -r source; do
  targets+=("$(basename "$source" .cc)")
done < <(find "$ROOT/src/nilus" -name '*_fuzz.cc' | sort)
ninja -C "$BUILD" "${targets[@]}" >"$BUILD/build.log" 2>&1 || { tail -50 "$BUILD/build.log" >&2; exit 1; }
for target in "${targets[@]}"; do
  corpus=$(mktemp -d "${TMPDIR:-/tmp}/nilus-fuzz.XXXXXX")
  trap 'rm -rf "$corpus"' EXIT
  cp "$ROOT/tests/fuzz/corpus/${target%_fuzz}/"* "$corpus/"
  (cd "$corpus" && "$BUILD/$target" -runs="$RUNS" -max_len=4096 -print_final_stats=1 "$corpus") >"$BUILD/$target.log" 2>&1 ||
    { tail -60 "$BUILD/$target.log" >&2; echo "FAIL: $target" >&2; exit 1; }
  echo "$target: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$BUILD/$target.log" | grep -o '[0-9]*$') inputs, no crash"
  rm -rf "$corpus"
done
