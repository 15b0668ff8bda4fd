#!/usr/bin/env bash
# test_decode_cli.sh — smartmeter-decode's fixed command-line contract: JSON Lines on stdout, one
# error line per failed frame on stderr with its offset, exit 0/1/2, --hex with whitespace, 0x
# prefixes and commas, stdin via "-".
set -euo pipefail
B="${SMARTMETER_BUILD_DIR:?}/smartmeter-decode"
S="${SMARTMETER_SOURCE_DIR:?}/tests/data/sample-dsmr5.txt"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. the bundled sample: 10 telegrams, exit 0, each line a JSON object with the contract keys
"$B" "$S" > "$T/out" 2> "$T/err" || fail "sample exit $?"
[ "$(wc -l < "$T/out")" -eq 10 ] || fail "want 10 lines, got $(wc -l < "$T/out")"
/usr/bin/python3 - "$T/out" <<'PY' || fail "JSON contract"
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert o["protocol"] == "dsmr" and o["encrypted"] is False and o["meter_id"] == "E0034001540777816"
    assert o["values"]["1-0:1.8.2"] == {"value": 2345.678, "unit": "kWh"}
    assert "timestamp" in o["values"]["0-1:24.2.1"]
PY
grep -q '"1-0:2.8.1":{"value":12.345,"unit":"kWh"}' "$T/out" || fail "exact number text"

# 2. the same bytes as hex text with 0x prefixes, commas and line breaks, read from stdin
/usr/bin/python3 -c "
import sys
d = open('$S', 'rb').read()
print(',\n'.join(' '.join('0x%02X' % b for b in d[i:i+16]) for i in range(0, len(d), 16)))" > "$T/hex"
"$B" --hex - < "$T/hex" > "$T/out2" || fail "hex exit $?"
cmp -s "$T/out" "$T/out2" || fail "--hex output differs from binary output"

# 3. a corrupted telegram: one error line naming the offset, the others decode, exit 1
head -c 636 "$S" | sed 's/1234.567\*kWh/1234.568*kWh/' > "$T/bad"
tail -c +637 "$S" >> "$T/bad"
set +e
"$B" "$T/bad" > "$T/out3" 2> "$T/err3"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "bad CRC exit $rc, want 1"
[ "$(wc -l < "$T/out3")" -eq 9 ] || fail "want 9 telegrams after a bad one"
grep -q '^smartmeter-decode: error: offset 0 (DSMR, 636 bytes): DSMR CRC mismatch' "$T/err3" || fail "error line: $(cat "$T/err3")"

# 4. usage errors exit 2, and a bad key is refused without echoing it
set +e
"$B" --key 1234 "$S" > /dev/null 2> "$T/err4"; rc=$?
"$B" --bogus > /dev/null 2>&1; rc2=$?
"$B" "$T/does-not-exist" > /dev/null 2>&1; rc3=$?
printf 'no frames here' | "$B" > /dev/null 2>&1; rc4=$?
set -e
[ "$rc" -eq 2 ] && [ "$rc2" -eq 2 ] && [ "$rc3" -eq 2 ] || fail "usage exits $rc $rc2 $rc3"
grep -q 1234 "$T/err4" && fail "key echoed"
[ "$rc4" -eq 1 ] || fail "nothing decoded should exit 1, got $rc4"
echo "1 passed, 0 failed"
