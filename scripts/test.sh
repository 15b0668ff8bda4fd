#!/usr/bin/env bash
# test.sh — the project's one test command (README Quick start, .ci/run):
# install what is missing, build, run every test; then the same under AddressSanitizer + UBSan; then the
# build and portability checks of scripts/ci-portability.sh (SMARTMETER_SKIP_PORTABILITY=1 skips them).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
export SMARTMETER_CORPUS="${SMARTMETER_CORPUS:-$(cd .. && pwd)/shared/corpus}"
[ -d "$SMARTMETER_CORPUS" ] || echo "test.sh: no corpus at $SMARTMETER_CORPUS: conformance tests will be skipped" >&2
export SMARTMETER_CORPUS_SML="${SMARTMETER_CORPUS_SML:-$(cd .. && pwd)/shared/corpus-sml}"
[ -d "$SMARTMETER_CORPUS_SML" ] || echo "test.sh: no SML corpus at $SMARTMETER_CORPUS_SML: SML conformance tests will be skipped" >&2

echo "== build and test (RelWithDebInfo)"
scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo
ctest --test-dir build --output-on-failure -j2

echo "== build and test under AddressSanitizer + UndefinedBehaviorSanitizer"
scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DSMARTMETER_SANITIZE=ON
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j2

if [ "${SMARTMETER_SKIP_PORTABILITY:-}" != "1" ]; then
  echo "== build and portability checks (decoder-only, no libserialport, musl, s390x, armhf, Debian package)"
  scripts/ci-portability.sh
fi
