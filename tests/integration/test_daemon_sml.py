#!/usr/bin/python3
"""An SML meter (EMH-style push files of SML 1.04, built by the test) through a pseudo-terminal, fed in
small pieces as a 9600 baud IR head delivers them: .../obis says protocol and framing "sml" with the
server id as meter id; .../state carries friendly keys (energy in kWh, signed net power in W); Home
Assistant discovery announces 1-0:1.8.0 as an Energy-dashboard entity (energy, total_increasing, kWh) and
1-0:16.7.0 as power (measurement, W), each config reading a key the state topic has — first for a
PIN-locked meter (energy only), then, once it sends power, for the new entity too. A damaged file
between the good ones is rejected and logged, and the next file still arrives."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from smtest import Env, Daemon, Pty, Subscriber, config, check_exit_clean, crc16_x25, wait_until  # noqa: E402

SERVER_ID = bytes([0x0A, 0x01]) + b"EMH" + bytes([0x00, 0x00, 0xA1, 0xBD, 0x34])
METER = SERVER_ID.hex()
TEMPLATE = re.compile(r"^\{\{ value_json\.([a-z0-9_]+) \}\}$")


# ---- SML 1.04 (TL fields, messages with crc16, transport v1 with escapes, fill bytes and file CRC) ----

def tl(t, n):
    """One-byte TL when it fits (scalars count the TL byte in their length), else two bytes."""
    if t == 7:
        return bytes([0x70 | n]) if n < 16 else bytes([0xF0 | (n >> 4), n & 0x0F])
    if n + 1 < 16:
        return bytes([(t << 4) | (n + 1)])
    v = n + 2
    return bytes([0x80 | (t << 4) | (v >> 4), v & 0x0F])


def octets(b):
    return tl(0, len(b)) + b


def uint(v, n):
    return tl(6, n) + v.to_bytes(n, "big")


def sint(v, n):
    return tl(5, n) + v.to_bytes(n, "big", signed=True)


ABSENT = b"\x01"


def message(tid, tag, body):
    m = b"\x76" + octets(tid.to_bytes(4, "big")) + uint(0, 1) + uint(0, 1) + b"\x72" + uint(tag, 2) + body
    c = crc16_x25(m)
    return m + uint(((c & 0xFF) << 8) | (c >> 8), 2) + b"\x00"


def entry(code, value, unit=None, scaler=None):
    return (b"\x77" + octets(bytes(code)) + ABSENT + ABSENT + (uint(unit, 1) if unit else ABSENT) +
            (sint(scaler, 1) if scaler is not None else ABSENT) + value + ABSENT)


def sml_file(seq, energy_dwh, power_dw, pin_locked=False):
    """pin_locked: what a meter sends before its PIN is entered (energy in whole kWh, no power)."""
    if pin_locked:
        entries = [entry([1, 0, 96, 50, 1, 1], octets(b"EMH")), entry([1, 0, 96, 1, 0, 255], octets(SERVER_ID)),
                   entry([1, 0, 1, 8, 0, 255], uint(energy_dwh // 10000, 4), 30, 3)]
        return wrap(seq, entries)
    entries = [
        entry([1, 0, 96, 50, 1, 1], octets(b"EMH")),
        entry([1, 0, 96, 1, 0, 255], octets(SERVER_ID)),
        entry([1, 0, 1, 8, 0, 255], uint(energy_dwh, 8), 30, -1),
        entry([1, 0, 2, 8, 0, 255], uint(5000, 8), 30, -1),
        entry([1, 0, 16, 7, 0, 255], sint(power_dw, 4), 27, -1),
        entry([129, 129, 199, 130, 5, 255], octets(bytes([0x1B] * 8 + list(range(40))))),  # escapes on the wire
    ]
    return wrap(seq, entries)


def wrap(seq, entries):
    data = (message(seq, 0x0101, b"\x76" + ABSENT + ABSENT + octets(b"\x00\x01") + octets(SERVER_ID) + ABSENT + ABSENT) +
            message(seq + 1, 0x0701, b"\x77" + ABSENT + octets(SERVER_ID) + octets(bytes([1, 0, 0x62, 0x0A, 0xFF, 0xFF])) +
                    b"\x72" + uint(1, 1) + uint(seq, 4) + tl(7, len(entries)) + b"".join(entries) + ABSENT + ABSENT) +
            message(seq + 2, 0x0201, b"\x71" + ABSENT))
    wire = bytearray(b"\x1b\x1b\x1b\x1b\x01\x01\x01\x01")
    for i in range(0, len(data), 4):  # an aligned 1B1B1B1B is sent twice
        chunk = data[i:i + 4]
        if chunk == b"\x1b\x1b\x1b\x1b":
            wire += chunk
        wire += chunk
    pad = (4 - len(data) % 4) % 4
    wire += b"\x00" * pad + b"\x1b\x1b\x1b\x1b\x1a" + bytes([pad])
    c = crc16_x25(bytes(wire))
    return bytes(wire + bytes([c & 0xFF, c >> 8]))


def configs(sub):
    out = {}
    for topic, payload, _ in sub.all():
        if topic.startswith("homeassistant/") and topic.endswith("/config"):
            out[topic] = payload
    return {t: json.loads(p) for t, p in out.items() if p}


def main():
    with Env() as env:
        pty = env.add(Pty(env.tmp))
        sub = env.add(Subscriber(env.broker.port, ["test/#", "homeassistant/#"]))
        d = env.add(Daemon(env.tmp, config(env.broker.port, pty.link, extra="[homeassistant]\ndiscovery = true\n")))
        sub.wait_last("test/itest/status", "online")
        d.wait_log("opened " + pty.link)

        e_topic = f"homeassistant/sensor/{METER}/1_0_1_8_0/config"
        p_topic = f"homeassistant/sensor/{METER}/1_0_16_7_0/config"
        locked = sml_file(0x10, 123456789, 0, pin_locked=True)
        for i in range(0, len(locked), 16):
            pty.write(locked[i:i + 16])
        st = sub.wait_json(f"test/{METER}/state", lambda s: "energy_import_total" in s, what="PIN-locked state")
        assert st["energy_import_total"] == 12345 and st.get("power_net") is None, st
        wait_until(lambda: e_topic in configs(sub), what="PIN-locked discovery")
        assert p_topic not in configs(sub), "a power entity for a meter that sends no power"

        good1 = sml_file(0x100, 123456789, -1234)
        bad = bytearray(sml_file(0x200, 123456790, -1000))
        bad[len(bad) // 2] ^= 0x04
        good2 = sml_file(0x300, 123456791, 2500)
        for f in (good1, bytes(bad), good2):
            for i in range(0, len(f), 16):
                pty.write(f[i:i + 16])

        o = sub.wait_json(f"test/{METER}/obis", lambda o: o["values"].get("1-0:16.7.0", {}).get("value") == 250,
                          what="the second good SML file on .../obis")
        assert o["protocol"] == "sml" and o["framing"] == "sml" and o["meter_id"] == METER, o
        assert o["values"]["1-0:1.8.0"] == {"value": 12345679.1, "unit": "Wh"}, o["values"]
        firsts = [json.loads(p) for p in sub.payloads(f"test/{METER}/obis")][1:]
        assert [f["values"]["1-0:16.7.0"]["value"] for f in firsts] == [-123.4, 250], firsts  # the bad one not
        st = sub.wait_json(f"test/{METER}/state", lambda s: s.get("power_net") == 250, what="state")
        assert st["energy_import_total"] == 12345.6791 and st["energy_export_total"] == 0.5, st
        wait_until(lambda: "CRC mismatch" in d.text(), what="the damaged file logged")
        assert sum("SML file CRC mismatch" in line for line in d.text().splitlines()) == 1, d.text()

        wait_until(lambda: e_topic in configs(sub) and p_topic in configs(sub), what="SML discovery configs")
        cfgs = configs(sub)
        e, p = cfgs[e_topic], cfgs[p_topic]
        assert e["device_class"] == "energy" and e["state_class"] == "total_increasing", e
        assert e["unit_of_measurement"] == "kWh", e
        assert p["device_class"] == "power" and p["state_class"] == "measurement", p
        assert p["unit_of_measurement"] == "W", p
        assert e["device"]["manufacturer"] == "EMH metering" and e["device"]["model"] == "SML meter", e["device"]
        assert e["unique_id"] == f"smartmeterd_{METER}_1_0_1_8_0", e
        uids = set()
        state = json.loads(sub.payloads(f"test/{METER}/state")[-1])
        for topic, c in cfgs.items():
            if f"/{METER}/" not in topic:
                continue
            assert c["unique_id"] not in uids, c
            uids.add(c["unique_id"])
            if c["state_topic"] != f"test/{METER}/state":
                continue
            m = TEMPLATE.match(c["value_template"])
            assert m and m.group(1) in state, (topic, c["value_template"], sorted(state))
        assert len(uids) >= 5, sorted(uids)

        check_exit_clean(d.stop(), d)
        sub.wait_last(f"test/{METER}/availability", "offline")
    print("ok")


if __name__ == "__main__":
    main()
