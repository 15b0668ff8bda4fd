#!/usr/bin/env bash
# test_decode_c1218_table.sh — smartmeter-decode --c1218-table: C12.19 table bytes of an optical-port
# meter (BT23/BT28 of a real NES 83334, as termineter users dump them) decode offline to the JSON the
# daemon publishes; ST1 gives the meter id; bad lines exit 2 naming the line.
set -euo pipefail
B="${SMARTMETER_BUILD_DIR:?}/smartmeter-decode"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

st1=$(printf 'EE  83334-3I' | od -An -tx1 | tr -d ' \n')01020304$(printf '      5706567001' | od -An -tx1 | tr -d ' \n')
cat > "$T/tables" <<TXT
# dumped from a meter
st0 02 00 88 45 45 20 20
st1: $st1
bt23 74 40 05 00 9F 1D 00 00
bt28 = 96 0a 00 00 00 00 00 00 00 00 00 00 39 02 00 00 f8 0c 00 00 dc 0c 00 00
  90 19 00 00 27 70 03 00 ef 6f 03 00 76 70 03 00
TXT
# (a continuation line is not allowed: the test expects exit 2 for it below; join it first)
sed -e ':a;N;$!ba;s/\n  / /' "$T/tables" > "$T/joined"
"$B" --c1218-table "$T/joined" > "$T/out" || fail "exit $?"
/usr/bin/python3 - "$T/out" <<'PY' || fail "JSON"
import json, sys
o = json.loads(open(sys.argv[1]).read())
assert o["protocol"] == "c1218" and o["meter_id"] == "5706567001" and o["header"] == "EE 83334-3I", o
v = o["values"]
assert v["1-0:1.8.0"] == {"value": 344180, "unit": "Wh"}, v
assert v["1-0:2.8.0"] == {"value": 7583, "unit": "Wh"}, v
assert v["1-0:1.7.0"] == {"value": 2710, "unit": "W"}, v
assert v["1-0:31.7.0"] == {"value": 3.32, "unit": "A"}, v
assert v["1-0:72.7.0"] == {"value": 225.398, "unit": "V"}, v
assert v["1-0:0.2.0"]["value"] == "3.4", v
PY
set +e
"$B" --c1218-table "$T/tables" > /dev/null 2> "$T/err"; rc=$?
printf 'bt23 7440050\n' | "$B" --c1218-table > /dev/null 2>&1; rc2=$?
printf 'bt23 74400500\nbt28 0102\nst21 00 00 00 02 00 00 00 00 00 0a\n' | "$B" --c1218-table > /dev/null 2> "$T/err3"; rc3=$?
set -e
[ "$rc" -eq 2 ] && grep -q "line 6" "$T/err" || fail "continuation line: exit $rc, $(cat "$T/err")"
[ "$rc2" -eq 2 ] || fail "odd hex: exit $rc2"
[ "$rc3" -eq 1 ] && grep -q "truncated\|shorter\|ends before" "$T/err3" || fail "short tables: exit $rc3, $(cat "$T/err3")"
echo "1 passed, 0 failed"
