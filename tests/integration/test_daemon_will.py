#!/usr/bin/python3
"""The Last Will: SIGKILL leaves the broker to publish test/<instance>/status = offline (retained)."""
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from smtest import Env, Daemon, Pty, Subscriber, config, dsmr5, wait_until  # noqa: E402


def main():
    with Env() as env:
        pty = env.add(Pty(env.tmp))
        sub = env.add(Subscriber(env.broker.port, ["test/#"]))
        d = env.add(Daemon(env.tmp, config(env.broker.port, pty.link, extra_mqtt="keepalive = 5")))
        sub.wait_last("test/itest/status", "online")
        pty.write(dsmr5(1))
        sub.wait_last("test/e0034001540777816/availability", "online")
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        sub.wait_last("test/itest/status", "offline")
        # the will is retained
        late = env.add(Subscriber(env.broker.port, ["test/itest/status"]))
        wait_until(lambda: late.last("test/itest/status") == "offline", what="retained will")
    print("ok")


if __name__ == "__main__":
    main()
