#!/usr/bin/python3
"""device = tcp://host:port (a ser2net/socat relay): telegrams arrive; when the relay drops the
connection the daemon reconnects by itself and reading resumes. Also: publish_interval rate-limits
without delaying the first reading, and a silent meter goes offline after offline_after seconds."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from smtest import Env, Daemon, Subscriber, config, dsmr5, check_exit_clean, wait_until  # noqa: E402

METER = "e0034001540777816"
OBIS = f"test/{METER}/obis"


def main():
    with Env() as env:
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        srv.settimeout(30)
        port = srv.getsockname()[1]
        sub = env.add(Subscriber(env.broker.port, ["test/#"]))
        d = env.add(Daemon(env.tmp, config(env.broker.port, f"tcp://127.0.0.1:{port}",
                                           extra_mqtt="publish_interval = 3", extra_meter="offline_after = 4")))
        conn, _ = srv.accept()
        d.wait_log("connected to relay")
        t0 = time.monotonic()
        conn.sendall(dsmr5(0))
        sub.wait_json(OBIS, what="the first telegram at once")
        assert time.monotonic() - t0 < 2.5, "first reading delayed"
        for i in range(1, 4):   # arrive within the interval: only the last one is published, after it
            conn.sendall(dsmr5(i))
        sub.wait_json(OBIS, lambda o: o["values"]["1-0:1.8.1"]["value"] == 1000.003, what="the rate-limited latest")
        vals = [p for p in sub.payloads(OBIS)]
        assert len(vals) == 2, f"expected 2 publications within the interval, got {len(vals)}"

        conn.close()  # the relay goes away
        d.wait_log("relay closed the connection")
        conn, _ = srv.accept()  # ... and the daemon comes back by itself
        wait_until(lambda: d.text().count("connected to relay") >= 2, what="reconnect to the relay")
        time.sleep(0)  # no pause needed: the rate limit keeps the next telegram until it is due
        conn.sendall(dsmr5(7))
        sub.wait_json(OBIS, lambda o: o["values"]["1-0:1.8.1"]["value"] == 1000.007, what="telegram after reconnect")
        sub.wait_last(f"test/{METER}/availability", "online")
        # silence: offline after offline_after = 4 s
        sub.wait_last(f"test/{METER}/availability", "offline", timeout=30)
        d.wait_log("no telegram for")
        conn.close()
        srv.close()
        check_exit_clean(d.stop(), d)
    print("ok")


if __name__ == "__main__":
    main()
