#!/usr/bin/env bash
# Builds build/nilus. `scripts/build.sh test` builds the test configuration instead:
# warnings are errors, AddressSanitizer and UndefinedBehaviorSanitizer are on.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

mode=${1:-release}
case "$mode" in
  release) flags=(-DCMAKE_BUILD_TYPE=Release -DNILUS_SANITIZE=OFF -DNILUS_WERROR=OFF) ;;
  # -O1 and line tables: AddressSanitizer's advice, and less than half the compile time of -O2 -g
  # with the sanitizers (UndefinedBehaviorSanitizer's checks make optimisation costly).
  test) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" -DNILUS_SANITIZE=ON
               -DNILUS_WERROR=ON) ;;
  *) echo "usage: scripts/build.sh [release|test]" >&2; exit 2 ;;
esac
cmake -S . -B build -G Ninja "${flags[@]}" >/dev/null
ninja -C build
