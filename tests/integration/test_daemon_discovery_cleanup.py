#!/usr/bin/python3
"""Retained discovery configs that earlier runs left on the broker (HOME_ASSISTANT.md §7.8), against a real
broker: the daemon removes its own stale ones (the other discovery mode at once, codes it no longer
produces after stale_after seconds of telegrams) and never touches another program's or another
instance's. Also: the health entity names the line settings, expire_after grows to three push periods,
and a SIGHUP that moves the discovery
prefix removes the old configs, publishes under the new prefix and listens for Home Assistant there."""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from smtest import Env, Daemon, Pty, Subscriber, config, dsmr5, check_exit_clean, wait_until  # noqa: E402

import paho.mqtt.publish as paho_publish  # noqa: E402

METER = "e0034001540777816"
STATUS = "test/itest/status"


def old_config(name, status=STATUS, origin="smartmeterd", device=False):
    """A config as an earlier run (or another program) would have left it."""
    c = {
        "name": name,
        "unique_id": f"smartmeterd_{METER}_{name}",
        "state_topic": f"test/{METER}/state",
        "value_template": "{{ value_json.x }}",
        "availability": [{"topic": status}, {"topic": f"test/{METER}/availability"}],
        "availability_mode": "all",
        "origin": {"name": origin, "sw_version": "0.0.1"},
        "device": {"identifiers": [f"smartmeterd_{METER}"], "name": "Smart meter"},
    }
    if device:
        c = {k: v for k, v in c.items() if k not in ("name", "unique_id", "value_template")}
        c["components"] = {"1_0_1_8_1": {"platform": "sensor", "unique_id": f"smartmeterd_{METER}_1_0_1_8_1",
                                         "value_template": "{{ value_json.energy_import_t1 }}"}}
    return json.dumps(c)


SEEDS = {
    # ours, the other (device) mode: removed as soon as the collection window closes
    f"homeassistant/device/{METER}/config": old_config("dev", device=True),
    # ours, a code this meter no longer sends: removed after stale_after seconds of telegrams
    f"homeassistant/sensor/{METER}/1_0_99_7_0/config": old_config("gone"),
    # ours and still produced: updated in place, never removed
    f"homeassistant/sensor/{METER}/1_0_1_8_1/config": old_config("old import"),
    # another smartmeterd instance, another program: never touched
    f"homeassistant/sensor/{METER}/1_0_1_8_3/config": old_config("other box", status="test/otherbox/status"),
    "homeassistant/switch/0x00124b0012345678/switch/config": old_config("plug", origin="Zigbee2MQTT"),
}


def retained_now(port, topics):
    """What a newcomer (Home Assistant after a restart) would get from the broker."""
    s = Subscriber(port, topics)
    time.sleep(1.0)
    got = {t: p for t, p, r in s.all() if r}
    s.close()
    return got


def main():
    with Env() as env:
        paho_publish.multiple([{"topic": t, "payload": p, "qos": 1, "retain": True} for t, p in SEEDS.items()],
                              hostname="127.0.0.1", port=env.broker.port)
        pty = env.add(Pty(env.tmp))
        sub = env.add(Subscriber(env.broker.port, ["test/#", "homeassistant/#", "ha2/#"]))
        wait_until(lambda: len([m for m in sub.all() if m[2]]) == len(SEEDS), what="seeded retained configs")
        # expire_after = 1 s is shorter than three push periods: the daemon must raise it (to a minute)
        ha = "[homeassistant]\ndiscovery = true\nstale_after = 4\nexpire_after = 1\n"
        d = env.add(Daemon(env.tmp, config(env.broker.port, pty.link, extra=ha)))
        d.wait_log("opened " + pty.link)

        def removed(topic):
            return any(t == topic and p == "" for t, p, r in sub.all())

        # one telegram every 0.4 s: stale_after counts telegram time only
        i = 0
        deadline = time.monotonic() + 30
        while not removed(f"homeassistant/sensor/{METER}/1_0_99_7_0/config"):
            assert time.monotonic() < deadline, "stale config not removed within 30 s\n" + d.text()
            pty.write(dsmr5(i))
            i += 1
            time.sleep(0.4)
        d.wait_log("not produced in 4 s of telegrams")
        assert removed(f"homeassistant/device/{METER}/config"), "other-mode config not removed"
        text = d.text()
        assert "removing 1 retained discovery configs of the other discovery mode" in text, text

        # the config still produced was updated, never emptied; the others were not touched
        imp = f"homeassistant/sensor/{METER}/1_0_1_8_1/config"
        assert not removed(imp)
        assert json.loads(sub.last(imp))["name"] == "Energy import tariff 1", sub.last(imp)
        for t in (f"homeassistant/sensor/{METER}/1_0_1_8_3/config", "homeassistant/switch/0x00124b0012345678/switch/config"):
            assert [p for p in sub.payloads(t)] == [SEEDS[t]], (t, sub.payloads(t))
        kept = retained_now(env.broker.port, ["homeassistant/#"])
        assert f"homeassistant/sensor/{METER}/1_0_99_7_0/config" not in kept
        assert f"homeassistant/device/{METER}/config" not in kept
        assert imp in kept and "homeassistant/switch/0x00124b0012345678/switch/config" in kept

        # expire_after follows the meter's push period
        d.wait_log("expire_after raised to 60 s")
        power = json.loads(sub.last(f"homeassistant/sensor/{METER}/1_0_1_7_0/config"))
        assert power["expire_after"] == 60, power

        # health: the line settings entity has a value (a pty here)
        st = json.loads(sub.last(f"test/{METER}/state"))
        assert st["decoder_serial"] == "pseudo-terminal", st
        assert st["decoder_frames"] >= i - 1, st
        ser = json.loads(sub.last(f"homeassistant/sensor/{METER}/decoder_serial/config"))
        assert ser["entity_category"] == "diagnostic", ser

        # ---- SIGHUP moves the discovery prefix: old configs removed, new ones under ha2 ----
        ours = [t for t, p in kept.items() if t.startswith(f"homeassistant/sensor/{METER}/") and
                json.loads(p)["availability"][0]["topic"] == STATUS]
        assert len(ours) > 10, ours
        with open(d.conf, "a") as f:
            f.write("discovery_prefix = ha2\n")
        d.send(signal.SIGHUP)
        d.wait_log("configuration reloaded")
        pty.write(dsmr5(i))
        wait_until(lambda: all(removed(t) for t in ours), what="old-prefix configs removed")
        wait_until(lambda: f"ha2/sensor/{METER}/1_0_1_8_1/config" in retained_now(env.broker.port, ["ha2/#"]),
                   what="configs under the new prefix")
        assert f"homeassistant/sensor/{METER}/1_0_1_8_3/config" in retained_now(env.broker.port, ["homeassistant/#"])
        # Home Assistant's birth is now expected on ha2/status, no longer on homeassistant/status
        paho_publish.single("homeassistant/status", "online", hostname="127.0.0.1", port=env.broker.port)
        paho_publish.single("ha2/status", "online", hostname="127.0.0.1", port=env.broker.port)
        d.wait_log("home assistant: online")
        time.sleep(1.0)
        assert d.text().count("re-sending discovery") == 1, d.text()

        # [homeassistant] status_topic: HA's birth topic changed in its MQTT integration
        with open(d.conf, "a") as f:
            f.write("status_topic = hass/birth\n")
        d.send(signal.SIGHUP)
        wait_until(lambda: d.text().count("configuration reloaded") >= 2, what="second reload")
        time.sleep(0.5)
        paho_publish.single("ha2/status", "online", hostname="127.0.0.1", port=env.broker.port)
        paho_publish.single("hass/birth", "online", hostname="127.0.0.1", port=env.broker.port)
        wait_until(lambda: d.text().count("re-sending discovery") >= 2, what="birth on the configured status_topic")
        time.sleep(1.0)
        assert d.text().count("re-sending discovery") == 2, d.text()

        code = d.stop()
        check_exit_clean(code, d)
    print("ok")


if __name__ == "__main__":
    main()
