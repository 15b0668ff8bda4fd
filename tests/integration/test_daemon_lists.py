#!/usr/bin/python3
"""Nordic list meters in Home Assistant: an Aidon and a Kaifa replaying list 1 (power only, no meter id),
list 2 (identity, voltages, currents) and list 3 (clock and energy) in the order a real meter sends them.
Every state message carries every key any config published so far reads (no template warning, no text
sensor flipping to ''), there is one device per meter (no stand-in 'meter' device, one device block),
every config is sent once, and after a restart the first list 1 is published under the kept identity
with the list-3 keys still carried. Frames are built by the test code (smtest.aidon_list / kaifa_list)."""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from smtest import (Env, Daemon, Pty, Subscriber, aidon_list, config, check_exit_clean, dsmr_telegram,  # noqa: E402
                    hex_text, kaifa_list, wait_until)

TEMPLATE = re.compile(r"\{\{ value_json\.([a-z0-9_]+) \}\}")


def replay(pty, frames, gap=0.25):
    for f in frames:
        pty.write(f)
        time.sleep(gap)


def check_meter(sub, meter, n_states):
    """The invariants over everything the subscriber saw for one meter, in arrival order."""
    state_topic = f"test/{meter}/state"
    wait_until(lambda: len(sub.payloads(state_topic)) >= n_states, what=f"{n_states} state messages of {meter}")
    configs = {}      # topic -> payload (non-empty)
    sends = {}        # topic -> how many times a non-empty config arrived
    main_devices = set()
    checked = 0
    for topic, payload, _ in sub.all():
        if topic.startswith("homeassistant/") and topic.endswith("/config") and payload:
            c = json.loads(payload)
            if c["state_topic"] != state_topic:
                continue
            sends[topic] = sends.get(topic, 0) + 1
            configs[topic] = c
            dev = c["device"]
            if "via_device" not in dev:
                main_devices.add(json.dumps(dev, sort_keys=True))
        elif topic == state_topic:
            state = json.loads(payload)
            for t, c in configs.items():
                key = TEMPLATE.search(c["value_template"]).group(1)
                assert key in state, f"state message lacks {key!r} read by {t}: {payload}"
                assert state[key] != "", f"{key} published as '': {payload}"
            checked += 1
    assert checked >= n_states, checked
    resent = {t: n for t, n in sends.items() if n > 1}
    assert not resent, f"configs sent more than once: {resent}"
    assert len(main_devices) == 1, f"the meter is described as {len(main_devices)} devices: {main_devices}"
    return configs


def main():
    with Env() as env:
        sub = env.add(Subscriber(env.broker.port, ["test/#", "homeassistant/#"]))
        aidon = env.add(Pty(env.tmp))
        conf = config(env.broker.port, aidon.link)
        d = env.add(Daemon(env.tmp, conf))
        sub.wait_last("test/itest/status", "online")
        time.sleep(3.5)  # past the clean-up window, so configs go out as telegrams describe them
        seq = [aidon_list(1, power_w=700), aidon_list(1, power_w=710), aidon_list(2, power_w=720),
               aidon_list(1, power_w=730), aidon_list(3, power_w=740), aidon_list(1, power_w=750),
               aidon_list(2, power_w=760), aidon_list(1, power_w=770), aidon_list(3, power_w=780, hour=20,
                                                                                 energy_wh=10956183),
               aidon_list(1, power_w=790)]
        replay(aidon, seq)
        meter = "7359992890497997"
        # the two list-1 frames before the first id only fill the cache: 8 state messages
        configs = check_meter(sub, meter, 8)
        last = json.loads(sub.last(f"test/{meter}/state"))
        assert last["power_import"] == 790 and last["energy_import_total"] == 10956.18, last
        assert last["voltage_l1"] == 232.8, last  # from list 2, kept through list 1
        dev = next(iter(configs.values()))["device"]
        assert dev["manufacturer"] == "Aidon" and dev["model"] == "6534" and dev["serial_number"] == meter, dev
        assert not any("/meter/" in t for t, _, _ in sub.all()), "a stand-in 'meter' device or topic appeared"
        assert any(k.endswith("/1_0_1_8_0/config") for k in configs), "no energy entity from list 3"

        # restart: the first frame is a list 1, published at once under the kept id, list-3 keys carried
        check_exit_clean(d.stop(), d)
        n_before = len(sub.payloads(f"test/{meter}/state"))
        d = env.add(Daemon(env.tmp, conf, logname="second.log"))
        d.wait_log(f"meter {meter}: identity from {env.tmp}")
        sub.wait_last("test/itest/status", "online")
        aidon.write(aidon_list(1, power_w=800))
        wait_until(lambda: len(sub.payloads(f"test/{meter}/state")) > n_before, what="state after restart")
        st = json.loads(sub.last(f"test/{meter}/state"))
        assert st["power_import"] == 800 and "energy_import_total" in st and "voltage_l1" in st, st
        check_exit_clean(d.stop(), d)

        # Kaifa MA304: positional lists, the notification carries the date-time
        kaifa = env.add(Pty(env.tmp))
        os.rename(kaifa.link, kaifa.link + "-kaifa")
        kaifa.link += "-kaifa"
        d = env.add(Daemon(env.tmp, config(env.broker.port, kaifa.link), name="kaifa.conf", logname="kaifa.log"))
        d.wait_log("mqtt: connected")
        time.sleep(3.5)
        replay(kaifa, [kaifa_list(1), kaifa_list(2), kaifa_list(1, power_w=900), kaifa_list(3), kaifa_list(1, 910),
                       kaifa_list(2, 920), kaifa_list(1, 930)])
        configs = check_meter(sub, "6970631401753985", 6)
        dev = next(iter(configs.values()))["device"]
        assert dev["manufacturer"] == "Kaifa" and dev["model"] == "MA304H3E", dev
        check_exit_clean(d.stop(), d)

        # DSMR with an M-Bus channel that carries only its device type: no second device for it
        dsmr = env.add(Pty(env.tmp))
        os.rename(dsmr.link, dsmr.link + "-dsmr")
        dsmr.link += "-dsmr"
        d = env.add(Daemon(env.tmp, config(env.broker.port, dsmr.link), name="dsmr.conf", logname="dsmr.log"))
        d.wait_log("mqtt: connected")
        lines = ["1-3:0.2.8(50)", f"0-0:96.1.1({hex_text('E0099001540777816')})", "1-0:1.8.1(001000.000*kWh)",
                 "0-0:96.14.0(0002)", "0-0:96.13.0()", "1-0:1.7.0(00.300*kW)", "0-2:24.1.0(003)"]
        dsmr.write(dsmr_telegram(lines))
        sub.wait_json("test/e0099001540777816/state", what="DSMR state")
        time.sleep(4)  # the clean-up window: configs follow it
        dsmr.write(dsmr_telegram(lines))
        wait_until(lambda: any(t.startswith("homeassistant/sensor/e0099001540777816/") for t, _, _ in sub.all()),
                   what="DSMR configs")
        topics = [t for t, p, _ in sub.all() if "e0099001540777816" in t and t.endswith("/config") and p]
        assert not any("/0_2_24_" in t or "mbus2" in t for t in topics), f"channel 2 became a device: {topics}"
        st = json.loads(sub.last("test/e0099001540777816/state"))
        msg_keys = [k for k in st if k.startswith("message")]
        assert msg_keys and all(st[k] is None for k in msg_keys), st  # an empty text message is null, not ''
        check_exit_clean(d.stop(), d)
    print("ok")


if __name__ == "__main__":
    main()
