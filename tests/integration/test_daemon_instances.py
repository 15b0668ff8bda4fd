#!/usr/bin/python3
"""Several meters on one host: two daemons with their own configuration files and no `instance` set get
their own client id and status topic and do not knock each other off the broker. Two daemons that do share
a client id are told so: the log names `instance`."""
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from smtest import Env, Daemon, Pty, Subscriber, config, dsmr5, check_exit_clean, wait_until  # noqa: E402


def slug(s):
    return re.sub(r"[^a-z0-9_-]+", "_", s.lower()).strip("_")


def pty_named(env, d, name):
    p = env.add(Pty(d))
    os.rename(p.link, os.path.join(d, name))
    p.link = os.path.join(d, name)
    return p


def main():
    host = slug(socket.gethostname().split(".")[0])
    with Env() as env:
        sub = env.add(Subscriber(env.broker.port, ["test/#"]))
        daemons = []
        # one directory per meter, each with its own smartmeter.conf (a common layout) and its own dongle
        for name, serial in (("ttyUSB0", "E0000000000000001"), ("ttyUSB1", "E0000000000000002")):
            d = os.path.join(env.tmp, name)
            os.mkdir(d)
            p = pty_named(env, d, name)
            text = config(env.broker.port, p.link).replace("instance = itest\n", "")
            daemons.append((env.add(Daemon(d, text)), p, serial, f"test/{host}_{slug(name)}/status"))
        for d, p, serial, status in daemons:
            sub.wait_last(status, "online")
        for i in range(3):
            for d, p, serial, status in daemons:
                p.write(dsmr5(i, serial=serial))
            time.sleep(1)
        for d, p, serial, status in daemons:
            sub.wait_json(f"test/{serial.lower()}/state", what=f"state of {serial}")
        time.sleep(3)
        for d, p, serial, status in daemons:
            assert "connection lost" not in d.text() and "same client id" not in d.text(), d.text()
            assert sub.last(status) == "online", status
            check_exit_clean(d.stop(), d)
            sub.wait_last(status, "offline")  # the subscriber may see it a moment after the daemon exits

        # the same instance twice: the broker keeps dropping one for the other; the log says why
        clash = []
        for name in ("a", "b"):
            d = os.path.join(env.tmp, name)
            os.mkdir(d)
            p = pty_named(env, d, "tty" + name)
            text = config(env.broker.port, p.link).replace("instance = itest", "instance = twin")
            clash.append(env.add(Daemon(d, text)))
        wait_until(lambda: any("another client probably uses the same client id 'smartmeterd-twin'" in c.text() and
                               "this one is 'twin'" in c.text() for c in clash), timeout=30,
                   what="the client-id clash hint")
        for c in clash:
            check_exit_clean(c.stop(), c)
    print("ok")


if __name__ == "__main__":
    main()
