#!/usr/bin/env bash
# fuzz.sh — build every libFuzzer target with clang (whole build under ASan + UBSan) and run each for a
# bounded time from its committed seeds (tests/fuzz/corpus/<target>/, copied: the repository is never
# written). Fails on any finding (crash, leak, sanitizer report, timeout). Prints executions per target.
#   FUZZ_SECONDS=45 (default) per target; FUZZ_TARGETS="fuzz_decoder fuzz_cosem" to run only some.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-45}"
dir=build-fuzz
command -v clang >/dev/null || { echo "fuzz.sh: clang is needed (scripts/install-deps.sh installs it)" >&2; exit 1; }
cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMARTMETER_FUZZ=ON \
  -DBUILD_TESTING=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" >/dev/null
targets="${FUZZ_TARGETS:-$(cd "$dir" && ls fuzz_* 2>/dev/null | grep -v '\.' || true)}"
[ -n "$targets" ] || { echo "fuzz.sh: no fuzz targets were built" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0
for t in $targets; do
  mkdir -p "$work/$t"
  [ -d "tests/fuzz/corpus/$t" ] && cp -r "tests/fuzz/corpus/$t/." "$work/$t/"
  dict=()
  [ -f "tests/fuzz/${t#fuzz_}.dict" ] && dict=(-dict="tests/fuzz/${t#fuzz_}.dict")
  log="$work/$t.log"
  if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     "$dir/$t" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
     -artifact_prefix="$work/$t-" "$work/$t" >"$log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz.sh: $t: ${execs:-?} executions in ${seconds} s, no finding"
  else
    status=1
    echo "fuzz.sh: $t: FINDING" >&2
    tail -n 40 "$log" >&2
    for a in "$work/$t"-*; do [ -f "$a" ] && { echo "reproducer (hex):" >&2; xxd "$a" | head -20 >&2; }; done
  fi
done
exit "$status"
