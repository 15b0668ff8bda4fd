#!/usr/bin/python3
"""MQTT over TLS (tls_ca_file, host name checked against the broker's certificate) with MQTT v5:
the daemon connects through its epoll loop, publishes, and a broker certificate from another CA is
refused. Certificates are made by the test with openssl; skipped (77) without it."""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from smtest import SKIP, Env, Daemon, Pty, config, dsmr5, check_exit_clean, make_tls_certs, wait_until  # noqa: E402
import paho.mqtt.client as paho  # noqa: E402
import threading  # noqa: E402


def main():
    if not shutil.which("openssl"):
        print("SKIP: openssl not installed", file=sys.stderr)
        sys.exit(SKIP)
    with Env(prepare=make_tls_certs) as env:
        msgs = []
        got = threading.Event()
        c = paho.Client()
        c.tls_set(ca_certs=os.path.join(env.tmp, "ca.crt"))
        c.on_connect = lambda cl, u, f, rc: cl.subscribe("test/#", 1)
        c.on_message = lambda cl, u, m: (msgs.append((m.topic, m.payload.decode())), got.set())
        c.connect("localhost", env.broker.port, 30)
        c.loop_start()
        try:
            pty = env.add(Pty(env.tmp))
            d = env.add(Daemon(env.tmp, config(env.broker.port, pty.link, extra_mqtt=(
                f"host = localhost\ntls_ca_file = {env.tmp}/ca.crt\nprotocol = 5\n")).replace("host = 127.0.0.1\n", "")))
            d.wait_log("mqtt: connected to localhost")
            wait_until(lambda: ("test/itest/status", "online") in msgs, what="status online over TLS")
            pty.write(dsmr5(3))
            wait_until(lambda: any(t.endswith("/state") for t, _ in msgs), what="state over TLS")
            check_exit_clean(d.stop(), d)
            wait_until(lambda: ("test/itest/status", "offline") in msgs, what="status offline over TLS")

            # a CA that did not sign the broker's certificate: refused, said once, no crash
            d2 = env.add(Daemon(env.tmp, config(env.broker.port, pty.link, extra_mqtt=(
                f"host = localhost\ntls_ca_file = {env.tmp}/other.crt\n")).replace("host = 127.0.0.1\n", ""),
                name="other.conf"))
            d2.wait_log("cannot connect to localhost")
            second_run = d2.text().split(": reading ")[-1]  # both daemons log to the same file
            assert "mqtt: connected" not in second_run, second_run
            check_exit_clean(d2.stop(), d2)
        finally:
            c.loop_stop()
            c.disconnect()
    print("ok")


if __name__ == "__main__":
    main()
