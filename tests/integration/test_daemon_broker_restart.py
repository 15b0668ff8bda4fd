#!/usr/bin/python3
"""The broker stops mid-stream and comes back: the daemon reconnects by itself and, at QoS 1, every
telegram decoded while the broker was away arrives afterwards, in order (the queue promised in the
README); status/availability are online again. The test subscriber has a persistent session on a
broker with persistence, so it cannot miss what the daemon delivers before the subscriber is back."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from smtest import Env, Daemon, Pty, Subscriber, config, dsmr5, check_exit_clean, wait_until  # noqa: E402

METER = "e0034001540777816"
OBIS = f"test/{METER}/obis"


def seen(sub):
    return [round(json.loads(p)["values"]["1-0:1.8.1"]["value"] * 1000) - 1000000 for p in sub.payloads(OBIS)]


def main():
    with Env(persistence=True) as env:
        pty = env.add(Pty(env.tmp))
        sub = env.add(Subscriber(env.broker.port, ["test/#"], client_id="smd-test-sub", clean=False))
        d = env.add(Daemon(env.tmp, config(env.broker.port, pty.link, extra_mqtt="qos = 1\nqueue_size = 100")))
        sub.wait_last("test/itest/status", "online")
        for i in range(3):
            pty.write(dsmr5(i))
        wait_until(lambda: seen(sub) == [0, 1, 2], what="telegrams 0..2 before the outage")

        env.broker.stop()
        d.wait_log("connection to 127.0.0.1:%d lost" % env.broker.port)
        for i in range(3, 9):
            pty.write(dsmr5(i))
        d.wait_log("meter id")  # (already there) the daemon keeps running meanwhile
        wait_until(lambda: d.text().lower().count("telegram: dsmr") >= 9, what="the daemon to decode telegrams 3..8")
        env.broker.start()
        wait_until(lambda: seen(sub)[-6:] == [3, 4, 5, 6, 7, 8], timeout=60,
                   what=f"telegrams 3..8 after the broker returned (seen {seen(sub)})")
        for i in range(9, 11):
            pty.write(dsmr5(i))
        wait_until(lambda: seen(sub)[-2:] == [9, 10], what="live telegrams after the reconnect")
        got = seen(sub)
        assert sorted(set(got)) == list(range(11)), got
        sub.wait_last("test/itest/status", "online")
        assert sub.last(f"test/{METER}/availability") == "online"
        d.wait_log("delivered 12 messages kept while the broker was away")  # 6 telegrams: obis + state
        check_exit_clean(d.stop(), d)
    print("ok")


if __name__ == "__main__":
    main()
