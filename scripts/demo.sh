#!/usr/bin/env bash
# demo.sh — run smartmeterd end to end and show what it publishes.
#
# With no meter attached (default): a private mosquitto on a random loopback port, the bundled sample
# capture (tests/data/sample-dsmr5.txt, made by scripts/gen-sample.py) replayed at the meter's pace
# (one telegram per second) through a pseudo-terminal, the daemon reading it, and every MQTT message
# printed as it arrives.
#   SMARTMETER_DEVICE=/dev/ttyUSB0 scripts/demo.sh    the same, reading the real meter instead
#   SMARTMETER_CONFIG=/etc/smartmeter.conf scripts/demo.sh   just run the daemon with that file
#   SMARTMETER_DEMO_SECONDS=20   how long to run when stdin is not a terminal (CI); 0 = until Ctrl-C
#   SMARTMETER_BUILD_DIR=build   where smartmeterd was built
# Assumes the dependencies are installed and the project is built (scripts/run.sh does both).
# Stops everything it started (by PID) on exit, Ctrl-C or timeout.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${SMARTMETER_BUILD_DIR:-build}
DAEMON=$BUILD/smartmeterd
[ -x "$DAEMON" ] || { echo "demo: $DAEMON not found: build first (scripts/run.sh)" >&2; exit 1; }

if [ -n "${SMARTMETER_CONFIG:-}" ]; then
  exec "$DAEMON" -c "$SMARTMETER_CONFIG"
fi

if [ -t 0 ]; then SECONDS_DEFAULT=0; else SECONDS_DEFAULT=20; fi
RUN_SECONDS=${SMARTMETER_DEMO_SECONDS:-$SECONDS_DEFAULT}

TMP=$(mktemp -d /tmp/smartmeter-demo.XXXXXX)
PIDS=()
cleanup() {
  local pid
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    pid=${PIDS[i]}
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    # give the daemon its clean shutdown (offline messages), then make sure
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || { echo "demo: mosquitto is not installed" >&2; exit 1; }
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$TMP/mosquitto.conf" <<CONF
listener $PORT 127.0.0.1
allow_anonymous true
persistence false
CONF
"$MOSQUITTO" -c "$TMP/mosquitto.conf" >"$TMP/mosquitto.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.1
done

if [ -n "${SMARTMETER_DEVICE:-}" ]; then
  DEVICE=$SMARTMETER_DEVICE
  echo "demo: reading the meter on $DEVICE" >&2
else
  DEVICE=$TMP/ttyMETER
  echo "demo: no meter attached: replaying tests/data/sample-dsmr5.txt through a pseudo-terminal ($DEVICE)" >&2
  # The replayer: one telegram per second, like a DSMR 5 meter; loops over the sample. Each round moves
  # the energy registers on by what the sample spans (and the CRC with them), so the counters keep
  # counting up as a real meter's do and the energy guard has nothing to hold back.
  /usr/bin/python3 - "$DEVICE" tests/data/sample-dsmr5.txt <<'PY' &
import os, re, sys, time, tty
from decimal import Decimal
link, sample = sys.argv[1], sys.argv[2]
telegrams = re.findall(rb"/.*?![0-9A-Fa-f]{0,4}\r?\n", open(sample, "rb").read(), re.S)
if not telegrams:
    sys.exit("demo: no telegram in " + sample)
REG = re.compile(rb"^(1-0:[12]\.8\.[0-9]\()([0-9.]+)(\*kWh\))", re.M)
def values(t):
    return [Decimal(m.group(2).decode()) for m in REG.finditer(t)]
span = [b - a + Decimal("0.001") for a, b in zip(values(telegrams[0]), values(telegrams[-1]))]
def crc16_arc(data):
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc
def shifted(t, rnd):
    k = iter(range(len(span)))
    def move(m):
        j = next(k)
        v = Decimal(m.group(2).decode()) + span[j] * rnd
        return m.group(1) + f"{v:0{len(m.group(2))}.3f}".encode() + m.group(3)
    body = REG.sub(move, t[:t.rindex(b"!") + 1])
    return body + b"%04X\r\n" % crc16_arc(body)
master, slave = os.openpty()
tty.setraw(slave)
os.symlink(os.ttyname(slave), link)
i = 0
while True:
    os.write(master, shifted(telegrams[i % len(telegrams)], i // len(telegrams)))
    i += 1
    time.sleep(1.0)
PY
  PIDS+=($!)
  for _ in $(seq 50); do [ -e "$DEVICE" ] && break; sleep 0.1; done
fi

cat > "$TMP/smartmeter.conf" <<CONF
[serial]
device = $DEVICE
[mqtt]
host = 127.0.0.1
port = $PORT
topic_prefix = smartmeter
instance = demo
[daemon]
state_dir = $TMP
[log]
level = info
CONF

echo "demo: MQTT messages on 127.0.0.1:$PORT (topic smartmeter/#):" >&2
mosquitto_sub -h 127.0.0.1 -p "$PORT" -v -t 'smartmeter/#' &
PIDS+=($!)
"$DAEMON" -c "$TMP/smartmeter.conf" &
DAEMON_PID=$!
PIDS+=($DAEMON_PID)

if [ "$RUN_SECONDS" -gt 0 ]; then
  echo "demo: running for $RUN_SECONDS s (SMARTMETER_DEMO_SECONDS)" >&2
  for _ in $(seq "$RUN_SECONDS"); do
    kill -0 "$DAEMON_PID" 2>/dev/null || break
    sleep 1
  done
else
  echo "demo: Ctrl-C to stop" >&2
  wait "$DAEMON_PID" || true
fi
# Stop the daemon first so its clean shutdown (availability/status offline) is printed too.
kill -TERM "$DAEMON_PID" 2>/dev/null || true
for _ in $(seq 50); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
sleep 0.3
echo "demo: done" >&2
