#!/usr/bin/python3
"""DLMS/COSEM push frames (HDLC, Aidon-style OBIS list, built by the test) through a pseudo-terminal
arrive on .../obis with the decoder's values and on .../state with friendly keys; the HDLC frames are
fed in small pieces, as a 2400 baud line delivers them."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from smtest import Env, Daemon, Pty, Subscriber, aidon_push, config, check_exit_clean  # noqa: E402

METER = "7359992890941742"


def main():
    with Env() as env:
        pty = env.add(Pty(env.tmp))
        sub = env.add(Subscriber(env.broker.port, ["test/#"]))
        d = env.add(Daemon(env.tmp, config(env.broker.port, pty.link)))
        sub.wait_last("test/itest/status", "online")
        d.wait_log("opened " + pty.link)
        for power in (1234, 2345):
            frame = aidon_push(power_w=power)
            for i in range(0, len(frame), 7):
                pty.write(frame[i:i + 7])
        o = sub.wait_json(f"test/{METER}/obis", lambda o: o["values"]["1-0:1.7.0"]["value"] == 2345,
                          what="the second push on .../obis")
        assert o["protocol"] == "dlms" and o["meter_id"] == METER, o
        assert o["values"]["1-0:32.7.0"] == {"value": 230.1, "unit": "V"}, o["values"]
        assert o["values"]["1-0:31.7.0"] == {"value": 5.7, "unit": "A"}, o["values"]
        st = sub.wait_json(f"test/{METER}/state", lambda s: 2345 in s.values(), what="the second push on .../state")
        assert st.get("power_import", st.get("obis_1_0_1_7_0")) == 2345, st
        assert st.get("voltage_l1", st.get("obis_1_0_32_7_0")) == 230.1, st
        assert sub.last(f"test/{METER}/availability") == "online"
        check_exit_clean(d.stop(), d)
        sub.wait_last(f"test/{METER}/availability", "offline")
    print("ok")


if __name__ == "__main__":
    main()
