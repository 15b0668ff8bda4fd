#!/usr/bin/python3
"""capture_file keeps what a user with a broken line can attach to a report: besides rejected frames, a
bounded sample of the first bytes that formed no frame at all (an inverted cable gives no frame start),
once per open of the port, as a hex line smartmeter-decode --hex reads."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from smtest import Env, Daemon, Pty, Subscriber, config, dsmr5, check_exit_clean  # noqa: E402

SAMPLE = 4096


def main():
    with Env() as env:
        pty = env.add(Pty(env.tmp))
        cap = os.path.join(env.tmp, "capture.hex")
        sub = env.add(Subscriber(env.broker.port, ["test/#"]))
        d = env.add(Daemon(env.tmp, config(env.broker.port, pty.link, extra=f"capture_file = {cap}\n")))
        sub.wait_last("test/itest/status", "online")
        # what an inverted TTL line looks like: bytes, but never '/', 0x7E, 0x68 or a plausible APDU
        junk = bytes((0x80 | (i * 37 % 0x7F)) & 0xF7 for i in range(SAMPLE + 1500))
        junk = junk.replace(b"\xaf", b"\xa0").replace(b"\xe6", b"\xe0")
        pty.write(junk)
        d.wait_log(f"capture: the first {SAMPLE} bytes from {pty.link} formed no frame: kept them in {cap}")
        with open(cap) as f:
            lines = f.read().split()
        assert len(lines) == 1 and lines[0] == junk[:SAMPLE].hex(), (len(lines), lines[:1])
        # a meter that works after all: telegrams decode, nothing more is sampled
        pty.write(dsmr5(1))
        sub.wait_json("test/e0034001540777816/state")
        pty.write(junk)
        time.sleep(1)
        with open(cap) as f:
            assert len(f.read().split()) == 1
        check_exit_clean(d.stop(), d)
    print("ok")


if __name__ == "__main__":
    main()
