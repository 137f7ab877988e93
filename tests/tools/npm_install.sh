#!/usr/bin/env bash
# npm_install.sh FOLDER: installs the npm packages of FOLDER/package.json into FOLDER when they
# are missing, and Node.js itself from Debian when the machine has none.
set -euo pipefail
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ ! -d "$1/node_modules" ]; then
  (cd "$1" && npm install --no-audit --no-fund --silent >&2)
fi
