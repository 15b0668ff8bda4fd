#!/usr/bin/env bash
# build.sh [BUILD_DIR] [cmake options...] — configure and build (default ./build, warnings as errors).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-build}"
shift || true
cmake -S . -B "$dir" -DSMARTMETER_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
