#!/usr/bin/env bash
# Installs the Debian packages Nilus needs: to build and run it (no argument), and with
# --with-servers also the database servers and peer tools the tests and benchmarks start.
# Idempotent: does nothing when everything is already installed.
set -euo pipefail

packages=(
  # build
  g++ cmake ninja-build pkg-config
  # libraries
  libyaml-cpp-dev libsqlite3-dev libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libzstd-dev zlib1g-dev libsnappy-dev liblz4-dev libre2-dev libpq-dev libmariadb-dev libssl-dev libsimdjson-dev libcurl4-openssl-dev
  # the manager: its HTTP server, and the time zones of cron schedules
  libcpp-httplib-dev libcctz-dev tzdata
  # Python custom connectors: the embedded interpreter, and git for their repositories
  python3-dev pybind11-dev git
  # unit tests, the quickstart's read-back, formatting check
  libgtest-dev sqlite3 clang-format
)
if [ "${1:-}" = "--with-servers" ]; then
  packages+=(
    # end-to-end and integration tests, benchmarks
    zstd gzip time bc curl
    # fuzz tests: clang with libFuzzer
    clang libclang-rt-14-dev
    postgresql-15 postgresql-client-15 pgcopydb
    mariadb-server mariadb-client sysbench pgloader
    # the manager's tests: a real Prometheus scrapes nilus serve, a Pushgateway takes a run's
    # metrics, a headless Chromium loads the status page; the deployment examples are checked
    # with systemd-analyze and Python's YAML parser
    prometheus prometheus-pushgateway chromium systemd python3-yaml
    # an Avro reader nilus did not write, for the format tests
    python3-avro
    # custom connectors' tests: a virtualenv, and requests' errors classified as transient
    python3-venv python3-requests python3-pendulum
  )
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "installing: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
