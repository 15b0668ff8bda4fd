#!/usr/bin/python3
"""A broker (and a tcp:// relay) whose name resolves to a refusing address before an accepting one:
the daemon tries every address in order, as a blocking connect would, and logs the one that worked.
Also the stock Debian 12 case: localhost = ::1 and 127.0.0.1 with the broker on 127.0.0.1 only, over
TLS (the certificate check needs the name, not the address). Names come from a test-only resolver
(nss_wrapper preloaded into the daemon with its own hosts file), never from /etc/hosts."""
import os
import shutil
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from smtest import (SKIP, Env, Daemon, Pty, Subscriber, config, dsmr5, check_exit_clean,  # noqa: E402
                    make_tls_certs, nss_wrapper_env)

METER = "e0034001540777816"


def main():
    with Env() as env:
        hosts = nss_wrapper_env(env.tmp, [("::1", "dualstack"), ("127.0.0.1", "dualstack"),
                                          ("127.0.0.2", "roundrobin"), ("127.0.0.1", "roundrobin")])
        sub = env.add(Subscriber(env.broker.port, ["test/#"]))
        # 1. plain MQTT: ::1 refuses (the broker listens on 127.0.0.1 only), 127.0.0.1 accepts
        pty = env.add(Pty(env.tmp))
        d = env.add(Daemon(env.tmp, config(env.broker.port, pty.link).replace("host = 127.0.0.1", "host = dualstack"),
                           env_extra=hosts, name="a.conf", logname="a.log"))
        d.wait_log(f"mqtt: connected to dualstack:{env.broker.port} (address 127.0.0.1)")
        pty.write(dsmr5(1))
        sub.wait_json(f"test/{METER}/state", what="state through the second address")
        check_exit_clean(d.stop(), d)

        # 2. two IPv4 addresses, the first refusing: the exact address is tried, not just the family
        d = env.add(Daemon(env.tmp, config(env.broker.port, pty.link).replace("host = 127.0.0.1", "host = roundrobin"),
                           env_extra=hosts, name="b.conf", logname="b.log"))
        d.wait_log(f"mqtt: connected to roundrobin:{env.broker.port} (address 127.0.0.1)")
        assert "cannot connect" not in d.text(), d.text()
        check_exit_clean(d.stop(), d)

        # 3. a tcp:// relay by name: ::1 refuses, 127.0.0.1 serves the telegrams
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        srv.settimeout(30)
        rport = srv.getsockname()[1]
        d = env.add(Daemon(env.tmp, config(env.broker.port, f"tcp://dualstack:{rport}", state_dir=env.tmp),
                           env_extra=hosts, name="c.conf", logname="c.log"))
        conn, _ = srv.accept()
        d.wait_log(f"serial: connected to relay tcp://dualstack:{rport} (address 127.0.0.1)")
        conn.sendall(dsmr5(2))
        sub.wait_json(f"test/{METER}/state", lambda o: o.get("energy_import_t1") == 1000.002, what="state via relay")
        conn.close()
        srv.close()
        check_exit_clean(d.stop(), d)

    # 4. the README's test command on a stock Debian 12: TLS to localhost, which is ::1 first
    if not shutil.which("openssl"):
        print("SKIP: openssl not installed", file=sys.stderr)
        sys.exit(SKIP)
    with Env(prepare=make_tls_certs) as env:
        hosts = nss_wrapper_env(env.tmp, [("::1", "localhost"), ("127.0.0.1", "localhost")])
        pty = env.add(Pty(env.tmp))
        d = env.add(Daemon(env.tmp, config(env.broker.port, pty.link, extra_mqtt=(
            f"host = localhost\ntls_ca_file = {env.tmp}/ca.crt\n")).replace("host = 127.0.0.1\n", ""),
            env_extra=hosts))
        d.wait_log(f"mqtt: connected to localhost:{env.broker.port} (address 127.0.0.1)")
        check_exit_clean(d.stop(), d)
    print("ok")


if __name__ == "__main__":
    main()
