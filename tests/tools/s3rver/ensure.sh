#!/usr/bin/env bash
# Installs s3rver (npm), an S3-compatible server for the tests, beside this script when it is
# missing. Prints the path of its command.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/../npm_install.sh" "$here"
echo "$here/node_modules/s3rver/bin/s3rver.js"
