#!/usr/bin/python3
"""A burst faster than the broker acknowledges (a month of captures replayed through a TCP relay): every
telegram is delivered, in order, and the daemon's memory stays bounded because it stops reading while
MQTT is backlogged (without that, libmosquitto queued every message: ~3 kB of heap per telegram)."""
import json
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from smtest import Env, Daemon, Subscriber, config, daemon_path, dsmr5, check_exit_clean, wait_until  # noqa: E402

METER = "e0034001540777816"
STATE = f"test/{METER}/state"
N = 5000


def private_dirty_kb(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1])
    return 0


def main():
    # The test's subscriber (Python) may lag the broker: let the broker queue for it without limit, so
    # what is measured is the daemon, not mosquitto's max_queued_messages.
    with Env(broker_extra="max_queued_messages 0\n") as env:
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        srv.settimeout(30)
        port = srv.getsockname()[1]
        sub = env.add(Subscriber(env.broker.port, [STATE]))
        d = env.add(Daemon(env.tmp, config(env.broker.port, f"tcp://127.0.0.1:{port}", extra_mqtt="qos = 1")))
        conn, _ = srv.accept()
        d.wait_log("connected to relay")
        wait_until(lambda: "mqtt: connected to" in d.text(), what="the broker connection")
        before = private_dirty_kb(d.proc.pid)
        conn.sendall(b"".join(dsmr5(i) for i in range(N)))
        wait_until(lambda: len(sub.payloads(STATE)) >= N, timeout=120, what=f"{N} state messages")
        after = private_dirty_kb(d.proc.pid)
        values = [json.loads(p)["energy_import_t1"] for p in sub.payloads(STATE)]
        assert values == sorted(values) and len(set(values)) == N, "states lost, repeated or out of order"
        with open(daemon_path(), "rb") as f:
            sanitized = b"__asan_init" in f.read()  # ASan's quarantine and shadow memory are no measure
        if not sanitized:
            assert after - before < 4096, f"Private_Dirty grew {after - before} kB in the burst ({before} -> {after})"
        assert "dropping" not in d.text(), d.text()
        conn.close()
        srv.close()
        check_exit_clean(d.stop(), d)
    print(f"ok (Private_Dirty {before} -> {after} kB)")


if __name__ == "__main__":
    main()
