#!/usr/bin/python3
"""[meter] protocol = c1218: the daemon polls a simulated NES meter (sim_c1218.py, on a pseudo-terminal)
and publishes its readings like a push meter's: .../obis with "protocol":"c1218" and the values scaled
exactly, .../state, Home Assistant discovery with energy entities fit for the Energy dashboard; it keeps
polling through damaged packets, lost ACKs, duplicates, a lost request and bsy answers; it backs off
after two refused passwords (one clear line, no values, never the password in the log); a read without
Security is refused with isc and explained; a port where nothing answers gets a plain diagnosis."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from smtest import Env, Daemon, Pty, Subscriber, config, check_exit_clean, wait_until  # noqa: E402

SIM = os.path.join(os.path.dirname(__file__), "sim_c1218.py")
METER = "5706567001"
KEY = "00112233445566778899aabbccddeeff"


class Sim:
    def __init__(self, tmp, *args, name="sim"):
        self.link = os.path.join(tmp, "ttyOPTICAL")
        self.logpath = os.path.join(tmp, name + ".log")
        self.proc = subprocess.Popen(["/usr/bin/python3", SIM, "--link", self.link, "--log", self.logpath, *args])
        wait_until(lambda: os.path.exists(self.link) and self.events("ready"), what="the simulated meter")

    def events(self, name=None):
        try:
            with open(self.logpath) as f:
                evs = [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []
        return [e for e in evs if name is None or e["ev"] == name]

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def c1218_config(port, device, meter_extra=""):
    return config(port, device, extra_meter=f"protocol = c1218\nuser_id = 1\nuser = 0000\npoll_interval = 1\n{meter_extra}")


def obis_messages(sub):
    out = []
    for p in sub.payloads(f"test/{METER}/obis"):
        out.append(json.loads(p))
    return out


def discovery_configs(sub):
    out = {}
    for topic, payload, _ in sub.all():
        if topic.startswith("homeassistant/") and topic.endswith("/config"):
            out[topic] = payload
    return {t: json.loads(p) for t, p in out.items() if p}


def polls_through_faults():
    with Env() as env:
        sim = env.add(Sim(env.tmp, "--faults", "badcrc:3,lostack:2,ignoreack:2,bsy:2,silent:1"))
        sub = env.add(Subscriber(env.broker.port, ["test/#", "homeassistant/#"]))
        d = env.add(Daemon(env.tmp, c1218_config(env.broker.port, sim.link, f"password = {KEY}")))
        d.wait_log("password: 16 bytes from hex digits, padded with NUL bytes to 20")
        o = sub.wait_json(f"test/{METER}/obis", timeout=40, what="a C12.18 reading on .../obis")
        assert o["protocol"] == "c1218" and o["meter_id"] == METER and o["framing"] == "c1218", o
        v = o["values"]
        assert v["1-0:1.8.0"]["unit"] == "Wh" and v["1-0:1.8.0"]["value"] >= 344180, v
        assert v["1-0:2.8.0"] == {"value": 7583, "unit": "Wh"}, v
        assert v["1-0:1.7.0"] == {"value": 2710, "unit": "W"}, v
        assert v["1-0:2.7.0"] == {"value": 0, "unit": "W"}, v
        assert v["1-0:4.7.0"] == {"value": 569, "unit": "var"}, v
        assert v["1-0:31.7.0"] == {"value": 3.32, "unit": "A"}, v
        assert v["1-0:51.7.0"] == {"value": 3.292, "unit": "A"}, v
        assert v["1-0:71.7.0"] == {"value": 6.544, "unit": "A"}, v
        assert v["1-0:32.7.0"] == {"value": 225.319, "unit": "V"}, v
        assert v["1-0:52.7.0"] == {"value": 225.263, "unit": "V"}, v
        assert v["1-0:72.7.0"] == {"value": 225.398, "unit": "V"}, v
        assert v["1-0:14.7.0"] == {"value": 49.998, "unit": "Hz"}, v
        assert v["1-0:9.7.0"] == {"value": 2964, "unit": "VA"}, v
        assert v["pos_10"]["value"] == 990 and "unit" not in v["pos_10"], v  # a power factor, scale unknown: raw

        # keeps polling: the counter the simulator advances by 10 Wh per read arrives in order
        wait_until(lambda: len(obis_messages(sub)) >= 4, timeout=40, what="four polls")
        a_plus = [m["values"]["1-0:1.8.0"]["value"] for m in obis_messages(sub)]
        assert all(b > a for a, b in zip(a_plus, a_plus[1:])), a_plus

        # every fault happened and was ridden out
        fired = {e["name"] for e in sim.events("fault")}
        assert fired == {"badcrc", "lostack", "ignoreack", "bsy", "silent"}, fired
        assert sim.events("nak"), "the daemon never NAKed a damaged packet"
        assert len([e for e in sim.events("read") if e.get("refused") == "bsy"]) == 2
        # configuration tables once per connection, BT23 + BT28 every poll
        reads = [e["table"] for e in sim.events("read") if "refused" not in e]
        assert reads.count(0) == 1 and reads.count(1) == 1 and reads.count(21) == 1, reads
        assert reads.count(23) >= 4 and reads.count(28) >= 4, reads
        assert not any(e["table"] not in (0, 1, 21, 23, 28) for e in sim.events("read"))

        # state and Home Assistant discovery
        st = sub.wait_json(f"test/{METER}/state", lambda s: len(s) > 5, what=".../state")
        cfgs = wait_until(lambda: discovery_configs(sub) or None, what="discovery configs")
        energy = [c for c in cfgs.values() if c.get("device_class") == "energy" and
                  c["state_topic"] == f"test/{METER}/state"]
        assert energy, cfgs
        for c in energy:
            assert c["state_class"] in ("total_increasing", "total"), c
            assert c["unit_of_measurement"] in ("kWh", "Wh"), c
            key = c["value_template"].split("value_json.")[1].strip(" }")
            assert isinstance(st[key], (int, float)), (key, st)
        imp = [c for c in energy if c["state_class"] == "total_increasing"]
        assert imp, energy
        dev = energy[0]["device"]
        assert METER in json.dumps(dev), dev
        assert sub.last(f"test/{METER}/availability") == "online"
        text = d.text()
        assert KEY not in text and KEY.upper() not in text
        check_exit_clean(d.stop(), d)
        assert sim.events("terminate")


def stuck_session_and_counter_glitch():
    """The meter falls silent mid-session: the daemon ends the session (Terminate) after its timeout,
    the meter's own 6 s session timeout passes, and the next session reads again. A one-poll A+ jump of
    50,000 kWh reaches .../obis (what the meter said) but never the state topic (the energy guard)."""
    with Env() as env:
        sim = env.add(Sim(env.tmp, "--faults", "stall:1", "--jump-at", "4"))
        sub = env.add(Subscriber(env.broker.port, ["test/#"]))
        d = env.add(Daemon(env.tmp, c1218_config(env.broker.port, sim.link, f"password = {KEY}"), args=()))
        wait_until(lambda: sim.events("stall"), timeout=30, what="the stall")
        d.wait_log("session failed: answer timeout: the read of BT28 acknowledged but not answered within 6 s",
                   timeout=30)
        wait_until(lambda: sim.events("session-timeout"), timeout=30, what="the meter's session timeout")
        stalled_at = sim.events("stall")[0]["t"]
        wait_until(lambda: [e for e in sim.events("identify") if e["t"] > stalled_at + 10], timeout=40,
                   what="a new session after the stall")
        wait_until(lambda: len(obis_messages(sub)) >= 5, timeout=40, what="readings after the stall and the glitch")
        a_obis = [m["values"]["1-0:1.8.0"]["value"] for m in obis_messages(sub)]
        assert any(v > 50000000 for v in a_obis), a_obis           # the glitch as the meter sent it
        states = [json.loads(p) for p in sub.payloads(f"test/{METER}/state")]
        a_state = [s["energy_import_total"] for s in states if "energy_import_total" in s]
        assert a_state and all(v < 1000 for v in a_state), a_state  # kWh: never 50,344
        assert "held" in d.text() or "implausible" in d.text() or "guard" in d.text(), d.text()
        check_exit_clean(d.stop(), d)


def refused_password_backs_off():
    with Env() as env:
        sim = env.add(Sim(env.tmp, "--password-hex", "ffeeddccbbaa99887766554433221100"))
        sub = env.add(Subscriber(env.broker.port, ["test/#"]))
        d = env.add(Daemon(env.tmp, c1218_config(env.broker.port, sim.link, f"password = {KEY}"), args=()))
        d.wait_log("meter refused the password: check password / password_format (hex, 16 bytes, padded with NUL bytes",
                   timeout=30)
        d.wait_log("retrying in 60 s", timeout=30)
        n = len(sim.events("security"))
        assert n == 2, sim.events("security")
        time.sleep(6)  # six poll intervals: nothing may be tried while backing off
        assert len(sim.events("security")) == 2, sim.events("security")
        assert not [e for e in sim.events("read") if "refused" not in e], "a table was read with a refused password"
        assert not [t for t, _, _ in sub.all() if t.endswith("/obis") or t.endswith("/state")], sub.all()
        lines = [l for l in d.text().splitlines() if "refused the password" in l]
        assert len(lines) == 2, lines
        assert KEY not in d.text()
        check_exit_clean(d.stop(), d)


def read_without_security_is_explained():
    with Env() as env:
        sim = env.add(Sim(env.tmp))
        d = env.add(Daemon(env.tmp, c1218_config(env.broker.port, sim.link), args=()))
        d.wait_log("without a password")
        d.wait_log("answered isc (insufficient security clearance)", timeout=30)
        d.wait_log("hint: set password or password_file in [meter]")
        assert sim.events("read") and all(e.get("refused") == "isc" for e in sim.events("read"))
        check_exit_clean(d.stop(), d)


def silent_port_is_diagnosed():
    with Env() as env:
        pty = env.add(Pty(env.tmp))  # nothing behind it: a probe that is not on the meter
        d = env.add(Daemon(env.tmp, c1218_config(env.broker.port, pty.link, f"password = {KEY}"), args=()))
        d.wait_log("no answer from the meter on " + pty.link + ": the probe is probably misaligned", timeout=30)
        wire = b""
        os.set_blocking(pty.master, False)
        try:
            wire = os.read(pty.master, 4096)
        except BlockingIOError:
            pass
        assert wire.startswith(bytes.fromhex("ee0000000001201310")), wire.hex()  # Identify, resent
        check_exit_clean(d.stop(), d)


def main():
    polls_through_faults()
    stuck_session_and_counter_glitch()
    refused_password_backs_off()
    read_without_security_is_explained()
    silent_port_is_diagnosed()
    print("ok")


if __name__ == "__main__":
    main()
