#!/usr/bin/python3
"""--instance NAME (what smartmeterd@NAME.service passes) replaces [mqtt] instance: the status topic,
the Last Will and the client id follow it, also across a SIGHUP reload; a name that is not a slug is
refused at start."""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from smtest import Env, Daemon, Pty, Subscriber, config, daemon_path, dsmr5  # noqa: E402


def main():
    with Env() as env:
        pty = env.add(Pty(env.tmp))
        sub = env.add(Subscriber(env.broker.port, ["test/#"]))
        d = env.add(Daemon(env.tmp, config(env.broker.port, pty.link), args=("--instance", "garage")))
        sub.wait_last("test/garage/status", "online")
        pty.write(dsmr5(1))
        sub.wait_last("test/e0034001540777816/availability", "online")
        d.send(signal.SIGHUP)
        d.wait_log("configuration reloaded")
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        sub.wait_last("test/garage/status", "offline")  # the will carries the instance too
        if sub.last("test/itest/status") is not None:
            raise SystemExit("the file's instance 'itest' was used although --instance garage was given")

        bad = subprocess.run([daemon_path(), "--check-config", "-c", d.conf, "--instance", "a/b"],
                             capture_output=True, text=True, timeout=30)
        if bad.returncode != 1 or "--instance 'a/b' is not allowed" not in bad.stderr:
            raise SystemExit(f"--instance a/b: rc {bad.returncode}, stderr {bad.stderr!r}")
    print("ok")


if __name__ == "__main__":
    main()
