#!/usr/bin/env bash
# run.sh — the project's main job (README Quick start): install what is missing, build, and run.
# Until the daemon lands this decodes the bundled sample capture with smartmeter-decode.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF
if [ -x scripts/demo.sh ] && [ -x build/smartmeterd ]; then
  exec scripts/demo.sh "$@"
fi
echo "== smartmeter-decode tests/data/sample-dsmr5.txt" >&2
exec build/smartmeter-decode tests/data/sample-dsmr5.txt
