#!/usr/bin/python3
"""The serial port vanishes (pty closed, like an unplugged dongle) and comes back under the same path:
the daemon logs the loss once, marks the meter offline, retries quietly and resumes reading by itself."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from smtest import Env, Daemon, Pty, Subscriber, config, dsmr5, check_exit_clean, wait_until  # noqa: E402

METER = "e0034001540777816"


def main():
    with Env() as env:
        pty = env.add(Pty(env.tmp))
        sub = env.add(Subscriber(env.broker.port, ["test/#"]))
        d = env.add(Daemon(env.tmp, config(env.broker.port, pty.link)))
        d.wait_log("opened " + pty.link)
        pty.write(dsmr5(1))
        sub.wait_last(f"test/{METER}/availability", "online")

        pty.close()
        d.wait_log(f"{pty.link} lost")
        sub.wait_last(f"test/{METER}/availability", "offline")
        # retries are quiet (debug level only): wait for two of them
        wait_until(lambda: d.text().count("debug: serial: cannot open") >= 2, what="two quiet retries")
        pty.open()
        wait_until(lambda: d.text().count("opened " + pty.link) >= 2, timeout=45, what="the daemon to reopen the port")
        pty.write(dsmr5(2))
        sub.wait_json(f"test/{METER}/obis", lambda o: o["values"]["1-0:1.8.1"]["value"] == 1000.002,
                      what="a telegram after the reopen")
        sub.wait_last(f"test/{METER}/availability", "online")
        log = d.text()
        warnings = [l for l in log.splitlines() if "warning: serial" in l]
        assert len(warnings) == 1, "one line per outage, not per retry:\n" + log
        check_exit_clean(d.stop(), d)
    print("ok")


if __name__ == "__main__":
    main()
