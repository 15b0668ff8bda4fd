#!/usr/bin/python3
"""Keepalive with the sparse MQTT timer: the daemon checks its keepalive every keepalive / 2 - 1.5 s (not
every second), so an idle connection must still send its PINGREQ in time. With keepalive = 5 the broker drops a
silent client after 7.5 s; 16 s of idle must pass without the connection being lost, and a telegram
afterwards is delivered on the same connection."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from smtest import Env, Daemon, Pty, Subscriber, config, dsmr5  # noqa: E402


def main():
    with Env() as env:
        pty = env.add(Pty(env.tmp))
        sub = env.add(Subscriber(env.broker.port, ["test/#"]))
        d = env.add(Daemon(env.tmp, config(env.broker.port, pty.link, extra_mqtt="keepalive = 5")))
        sub.wait_last("test/itest/status", "online")
        time.sleep(16)  # the condition is "nothing happens": there is nothing to wait for
        log = d.text()
        assert "connection to" not in log or "lost" not in log, "the broker dropped the idle daemon:\n" + log
        assert log.count("mqtt: connected to") == 1, "the daemon reconnected while idle:\n" + log
        with open(env.broker.log.name, "rb") as f:
            blog = f.read().decode("utf-8", "replace")
        assert "exceeded timeout" not in blog, "mosquitto timed the daemon out:\n" + blog
        pty.write(dsmr5(1))
        sub.wait_last("test/e0034001540777816/availability", "online")
        assert d.text().count("mqtt: connected to") == 1
    print("ok")


if __name__ == "__main__":
    main()
