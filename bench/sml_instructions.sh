#!/usr/bin/env bash
# sml_instructions.sh [BUILD_DIR [FILE...]] — instructions the decoder spends per typical SML file (issue: at most
# 20 k): bench_sml decodes the same file (~320 bytes typical, ~730 bytes with 30 entries) N and 2N times under callgrind; the difference of
# the two totals divided by N is the per-file cost without start-up. Needs valgrind.
set -euo pipefail
build="${1:-build}"
shift || true
bin="$build/bench_sml"
[ -x "$bin" ] || { echo "sml_instructions.sh: build $bin first (scripts/build.sh)" >&2; exit 1; }
n=2000
total() {
	local out
	out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$@" 2>&1 >/dev/null)
	echo "$out" | sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
for kind in typical large "$@"; do
	a=$(total $n $kind)
	b=$(total $((2 * n)) $kind)
	echo "SML decode ($(basename "$(dirname "$kind")")/$(basename "$kind")): $(( (b - a) / n )) instructions per file (callgrind, $n vs $((2 * n)) files)"
done
