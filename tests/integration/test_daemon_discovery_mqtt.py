#!/usr/bin/python3
"""Home Assistant discovery against a real broker: after a DSMR and a DLMS stream every retained config
is a JSON object whose state_topic carries a message and whose value_template ({{ value_json.KEY }})
resolves to a number for every numeric entity (and to ON/OFF for binary sensors); unique_ids are
unique; identical telegrams do not republish configs; an "online" on homeassistant/status makes the
daemon re-send every config and then the current state without a new telegram."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from smtest import Env, Daemon, Pty, Subscriber, aidon_push, config, dsmr5, check_exit_clean, wait_until  # noqa: E402

import paho.mqtt.publish as paho_publish  # noqa: E402

DSMR_METER = "e0034001540777816"
DLMS_CASE = "hdlc-aidon-6534-list3-no"   # unencrypted Aidon list 3 (read in place, never copied)
DLMS_METER = "7359992890497997"
OWN_DLMS_METER = "7359992890941742"         # aidon_push(), built by the test: runs without the corpus
TEMPLATE = re.compile(r"^\{\{ value_json\.([a-z0-9_]+) \}\}$")
TOPIC = re.compile(r"^homeassistant/(sensor|binary_sensor)/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/config$")


def corpus_frame(case):
    d = os.environ.get("SMARTMETER_CORPUS") or os.path.join(
        os.environ.get("SMARTMETER_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")),
        "..", "shared", "corpus")
    p = os.path.join(d, case, "frame.bin")
    return open(p, "rb").read() if os.path.exists(p) else None


def configs(sub):
    """Latest payload per config topic (empty payload = removed)."""
    out = {}
    for topic, payload, _ in sub.all():
        if topic.startswith("homeassistant/") and topic.endswith("/config"):
            out[topic] = payload
    return {t: json.loads(p) for t, p in out.items() if p}


def check_configs(sub, meters):
    cfgs = configs(sub)
    seen_uid = set()
    checked = 0
    for topic, c in cfgs.items():
        assert TOPIC.match(topic), topic
        assert isinstance(c, dict), (topic, c)
        uid = c["unique_id"]
        assert uid not in seen_uid, f"unique_id {uid} twice"
        seen_uid.add(uid)
        assert uid.startswith("smartmeterd_") and uid.endswith("_" + topic.split("/")[3]), (topic, uid)
        assert c["availability_mode"] == "all" and len(c["availability"]) == 2, c
        assert c["origin"]["name"] == "smartmeterd"
        # expire_after (default 300 s) makes a dead meter unavailable; registers may come hourly
        if c.get("state_class") == "measurement":
            assert c["expire_after"] == 300, (topic, c)
        elif c.get("state_class") in ("total", "total_increasing") and c.get("entity_category") != "diagnostic":
            assert c["expire_after"] >= 7500, (topic, c)
        st_topic = c["state_topic"]
        if not any(st_topic == f"test/{m}/state" for m in meters):
            continue
        states = sub.payloads(st_topic)
        assert states, f"{topic}: no message on {st_topic}"
        state = json.loads(states[-1])
        m = TEMPLATE.match(c["value_template"])
        assert m, (topic, c["value_template"])
        key = m.group(1)
        assert key in state, f"{topic}: key {key} not in {sorted(state)}"
        v = state[key]
        if topic.startswith("homeassistant/binary_sensor/"):
            assert v in ("ON", "OFF", None), (topic, v)
        elif "unit_of_measurement" in c or "state_class" in c:
            assert isinstance(v, (int, float)) and not isinstance(v, bool), f"{topic}: {key} = {v!r} is not a number"
        checked += 1
    return cfgs, checked


def main():
    dlms = corpus_frame(DLMS_CASE)
    with Env() as env:
        pty = env.add(Pty(env.tmp))
        sub = env.add(Subscriber(env.broker.port, ["test/#", "homeassistant/#"]))
        d = env.add(Daemon(env.tmp, config(env.broker.port, pty.link, extra="[homeassistant]\ndiscovery = true\n")))
        sub.wait_last("test/itest/status", "online")
        d.wait_log("opened " + pty.link)

        # ---- DSMR ----
        for i in range(3):
            pty.write(dsmr5(i))
        sub.wait_json(f"test/{DSMR_METER}/state", lambda s: s.get("energy_import_t1") == 1000.002,
                      what="third DSMR state")
        wait_until(lambda: len(configs(sub)) > 15, what="DSMR discovery configs")
        cfgs, checked = check_configs(sub, [DSMR_METER])
        assert checked > 15, checked
        imp = cfgs[f"homeassistant/sensor/{DSMR_METER}/1_0_1_8_1/config"]
        assert imp["device_class"] == "energy" and imp["unit_of_measurement"] == "kWh", imp
        assert imp["state_class"] in ("total", "total_increasing"), imp
        gas = cfgs[f"homeassistant/sensor/{DSMR_METER}/0_1_24_2_1/config"]
        assert gas["device_class"] == "gas" and gas["unit_of_measurement"] == "m\u00b3", gas
        assert gas["device"]["via_device"] == f"smartmeterd_{DSMR_METER}", gas["device"]
        assert imp["device"]["manufacturer"] == "Landis+Gyr", imp["device"]  # /XMX5...

        # identical layouts do not republish configs (counted once the first batch has stopped arriving)
        def n_configs():
            return len([m for m in sub.all() if m[0].endswith("/config")])
        seen = [-1]

        def settled():
            n = n_configs()
            same, seen[0] = n == seen[0], n
            return same
        wait_until(settled, step=1.0, what="the first discovery batch to settle")
        n_cfg = n_configs()
        for i in range(3, 6):
            pty.write(dsmr5(i))
        sub.wait_json(f"test/{DSMR_METER}/state", lambda s: s.get("energy_import_t1") == 1000.005)
        assert len([m for m in sub.all() if m[0].endswith("/config")]) == n_cfg

        # ---- DLMS: a frame built here, then a captured Aidon list 3 when the corpus is there ----
        meters = [DSMR_METER, OWN_DLMS_METER]
        pty.write(aidon_push(power_w=2500, energy_wh=123456789))
        sub.wait_json(f"test/{OWN_DLMS_METER}/state", lambda s: "energy_import_total" in s, what="own DLMS state")
        wait_until(lambda: f"homeassistant/sensor/{OWN_DLMS_METER}/1_0_1_8_0/config" in configs(sub),
                   what="own DLMS configs")
        cfgs, checked = check_configs(sub, meters)
        e = cfgs[f"homeassistant/sensor/{OWN_DLMS_METER}/1_0_1_8_0/config"]
        assert e["device_class"] == "energy" and e["unit_of_measurement"] == "kWh", e
        assert e["state_class"] == "total_increasing" and e["device"]["manufacturer"] == "Aidon", e
        p = cfgs[f"homeassistant/sensor/{OWN_DLMS_METER}/1_0_1_7_0/config"]
        assert p["device_class"] == "power" and p["unit_of_measurement"] == "W", p
        st = json.loads(sub.payloads(f"test/{OWN_DLMS_METER}/state")[-1])
        assert st["energy_import_total"] == 123456.789 and st["power_import"] == 2500, st
        if dlms is not None:
            pty.write(dlms)
            sub.wait_json(f"test/{DLMS_METER}/state", lambda s: "power_import" in s, what="DLMS state")
            wait_until(lambda: any(f"/{DLMS_METER}/" in t for t in configs(sub)), what="DLMS configs")
            meters.append(DLMS_METER)
            cfgs, checked = check_configs(sub, meters)
            e = cfgs[f"homeassistant/sensor/{DLMS_METER}/1_0_1_8_0/config"]
            assert e["unit_of_measurement"] == "kWh" and e["device"]["manufacturer"] == "Aidon", e
            st = json.loads(sub.payloads(f"test/{DLMS_METER}/state")[-1])
            assert st["energy_import_total"] == 109552.25, st  # Wh on the wire, kWh published
        else:
            sys.stderr.write("note: corpus not found, captured Aidon frame skipped (own DLMS frame checked)\n")

        # ---- Home Assistant's birth: configs again, then the state, without a new telegram ----
        before_cfg = len([m for m in sub.all() if m[0].endswith("/config")])
        last_meter = meters[-1]
        before_state = len(sub.payloads(f"test/{last_meter}/state"))
        paho_publish.single("homeassistant/status", "online", hostname="127.0.0.1", port=env.broker.port)
        wait_until(lambda: len([m for m in sub.all() if m[0].endswith("/config")]) >= before_cfg + len(configs(sub)),
                   timeout=15, what="configs re-sent after homeassistant/status online")
        wait_until(lambda: len(sub.payloads(f"test/{last_meter}/state")) > before_state, timeout=15,
                   what="state re-sent after the configs")
        d.wait_log("home assistant: online")
        # "offline" (HA's will) triggers nothing (checked in the log below)
        paho_publish.single("homeassistant/status", "offline", hostname="127.0.0.1", port=env.broker.port)
        check_configs(sub, meters)

        code = d.stop()
        check_exit_clean(code, d)
        assert d.text().count("re-sending discovery") == 1, d.text()
    print("ok")


if __name__ == "__main__":
    main()
