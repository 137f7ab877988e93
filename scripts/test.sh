#!/usr/bin/env bash
# Builds the test configuration (sanitizers on, warnings as errors) and runs every test:
# unit tests beside the modules, then the end-to-end tests of the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --with-servers
bash scripts/build.sh test
cd build
ctest --output-on-failure -j2 "$@"
