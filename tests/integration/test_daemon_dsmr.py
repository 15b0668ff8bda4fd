#!/usr/bin/python3
"""DSMR telegrams through a pseudo-terminal arrive on .../obis (smartmeter-decode schema) and .../state
(friendly keys, W/kWh/V/A/m3); status and availability go online, and offline on SIGTERM (exit 0)."""
import json
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from smtest import Env, Daemon, Pty, Subscriber, config, dsmr5, check_exit_clean, wait_until  # noqa: E402

METER = "e0034001540777816"


def key_of(state, candidates):
    for k in candidates:
        if k in state:
            return k
    raise AssertionError(f"none of {candidates} in state {sorted(state)}")


def main():
    with Env() as env:
        pty = env.add(Pty(env.tmp))
        sub = env.add(Subscriber(env.broker.port, ["test/#"]))
        d = env.add(Daemon(env.tmp, config(env.broker.port, pty.link)))
        sub.wait_last("test/itest/status", "online")
        d.wait_log("opened " + pty.link)
        for i in range(3):
            pty.write(dsmr5(i))
        o = sub.wait_json(f"test/{METER}/obis", lambda o: o["values"]["1-0:1.8.1"]["value"] == 1000.002,
                          what="third telegram on .../obis")
        assert o["protocol"] == "dsmr" and o["meter_id"] == "E0034001540777816", o
        assert o["values"]["1-0:1.8.1"]["unit"] == "kWh"
        assert o["values"]["1-0:1.7.0"] == {"value": 0.3, "unit": "kW"}, o["values"]["1-0:1.7.0"]
        assert o["values"]["0-1:24.2.1"]["timestamp"] == "2026-11-21T14:30:00+01:00"
        # the raw text of the payload keeps the meter's exact decimals
        raw = sub.payloads(f"test/{METER}/obis")[-1]
        assert '"value":0.300' in raw, raw

        st = sub.wait_json(f"test/{METER}/state", lambda s: any(v == 1000.002 for v in s.values()),
                           what="third telegram on .../state")
        pk = key_of(st, ["power_import", "obis_1_0_1_7_0"])
        assert st[pk] == 300, (pk, st[pk])  # kW -> W
        ek = key_of(st, ["energy_import_tariff_1", "energy_import_t1", "obis_1_0_1_8_1"])
        assert st[ek] == 1000.002, st  # kWh stays kWh
        vk = key_of(st, ["voltage_l1", "obis_1_0_32_7_0"])
        assert st[vk] == 231.4
        ck = key_of(st, ["current_l1", "obis_1_0_31_7_0"])
        assert st[ck] == 1
        assert all(not k.startswith("pos_") for k in st)
        assert len(sub.payloads(f"test/{METER}/obis")) == 3
        assert sub.last(f"test/{METER}/availability") == "online"
        # retained: a late subscriber sees availability and state at once
        late = env.add(Subscriber(env.broker.port, [f"test/{METER}/availability", f"test/{METER}/state"]))
        wait_until(lambda: late.last(f"test/{METER}/availability") == "online", what="retained availability")
        wait_until(lambda: late.last(f"test/{METER}/state") is not None, what="retained state")

        # a telegram with a broken CRC is rejected and not published
        bad = bytearray(dsmr5(50))
        bad[bad.index(b"1-0:1.7.0") + 12] ^= 0x01
        pty.write(bytes(bad))
        pty.write(dsmr5(4))
        sub.wait_json(f"test/{METER}/obis", lambda o: o["values"]["1-0:1.8.1"]["value"] == 1000.004)
        assert not any(json.loads(p)["values"]["1-0:1.8.1"]["value"] == 1000.05 for p in sub.payloads(f"test/{METER}/obis"))
        d.wait_log("CRC")

        code = d.stop(signal.SIGTERM)
        check_exit_clean(code, d)
        sub.wait_last(f"test/{METER}/availability", "offline")
        sub.wait_last("test/itest/status", "offline")
    print("ok")


if __name__ == "__main__":
    main()
