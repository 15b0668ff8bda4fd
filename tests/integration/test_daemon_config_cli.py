#!/usr/bin/python3
"""Configuration errors give the promised "file:line: message (hint)" and a non-zero exit, --check-config
validates, keys are never echoed, SIGHUP applies a valid file and keeps the running one on a broken file."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from smtest import Env, Daemon, Pty, Subscriber, config, daemon_path, dsmr5, check_exit_clean, wait_until  # noqa: E402
import signal  # noqa: E402


def run(tmp, text, *args, mode=0o600):
    path = os.path.join(tmp, "c.conf")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    p = subprocess.run([daemon_path(), "-c", path, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr, path


def main():
    with Env() as env:
        tmp = env.tmp
        rc, out, path = run(tmp, "[mqtt]\nhost = 127.0.0.1\nqos = 3\n", "--check-config")
        assert rc != 0 and f"{path}:3: qos = 3 is out of range (0..2)" in out, out

        rc, out, path = run(tmp, "[mqtt]\nhots = x\n", "--check-config")
        assert rc != 0 and f"{path}:2: unknown key 'hots' in [mqtt] (hint: did you mean 'host'?)" in out, out

        rc, out, path = run(tmp, "[serial]\nhost = x\n", "--check-config")
        assert rc != 0 and "'host' belongs in [mqtt]" in out, out

        secret = "00112233445566778899aabbccddeeXX"
        rc, out, path = run(tmp, f"[meter]\nkey = {secret}\n", "--check-config")
        assert rc != 0 and f"{path}:2: key must be 32 hex digits" in out, out
        assert secret not in out and "ccddee" not in out, "a key was echoed: " + out

        rc, out, path = run(tmp, "[meter]\nkey_file = /nonexistent/key\n", "--check-config")
        assert rc != 0 and "key_file '/nonexistent/key': cannot read: No such file or directory" in out, out

        nope = os.path.join(tmp, "missing.conf")
        p = subprocess.run([daemon_path(), "-c", nope], capture_output=True, text=True, timeout=60)
        assert p.returncode != 0 and f"{nope}: cannot open: No such file or directory" in p.stderr, p.stderr

        good = "[meter]\nkey = 00112233445566778899aabbccddeeff\n[mqtt]\nhost = 127.0.0.1\n"
        rc, out, path = run(tmp, good, "--check-config", mode=0o644)
        assert rc == 0 and "configuration OK" in out, out
        assert "readable by other users" in out, out
        assert "00112233" not in out

        for opt in ("--version", "--help"):
            p = subprocess.run([daemon_path(), opt], capture_output=True, text=True, timeout=60)
            assert p.returncode == 0 and "smartmeterd" in p.stdout, p

        # SIGHUP: a broken file is refused, the daemon keeps running; a valid one is applied
        pty = env.add(Pty(tmp))
        sub = env.add(Subscriber(env.broker.port, ["test/#", "moved/#"]))
        d = env.add(Daemon(tmp, config(env.broker.port, pty.link)))
        sub.wait_last("test/itest/status", "online")
        with open(d.conf, "w") as f:
            f.write("[mqtt]\nqos = 7\n")
        d.send(signal.SIGHUP)
        d.wait_log("reload: ")
        assert "keeping the running configuration" in d.text()
        pty.write(dsmr5(1))
        sub.wait_last("test/e0034001540777816/availability", "online")
        with open(d.conf, "w") as f:
            f.write(config(env.broker.port, pty.link).replace("topic_prefix = test", "topic_prefix = moved"))
        d.send(signal.SIGHUP)
        d.wait_log("configuration reloaded")
        sub.wait_last("moved/itest/status", "online")
        sub.wait_last("test/itest/status", "")  # moved: the old retained status is cleared, not left behind
        pty.write(dsmr5(2))
        sub.wait_json("moved/e0034001540777816/state", what="state under the new prefix")
        sub.wait_last("test/e0034001540777816/availability", "")
        check_exit_clean(d.stop(), d)
    print("ok")


if __name__ == "__main__":
    main()
