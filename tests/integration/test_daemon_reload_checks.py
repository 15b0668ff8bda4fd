#!/usr/bin/python3
"""What the daemon cannot run with is refused before it runs: --check-config refuses a host with a port,
tcp:// without a port, missing or unreadable tls_ca_file / tls_cert_file / tls_key_file / key_file /
auth_key_file / password_file and an empty file; SIGHUP applies a file only when it passes the same
checks (an empty file and a missing CA file keep the running configuration, with a line saying so), and a
SIGTERM afterwards still exits 0 with offline published. A deliberate reconnect is an info line, never
"connection lost"."""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from smtest import Env, Daemon, Pty, Subscriber, config, daemon_path, dsmr5, check_exit_clean  # noqa: E402


def check(tmp, text, mode=0o600):
    path = os.path.join(tmp, "check.conf")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    p = subprocess.run([daemon_path(), "-c", path, "--check-config"], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr, path


def main():
    with Env() as env:
        tmp = env.tmp
        unreadable = os.path.join(tmp, "unreadable")
        with open(unreadable, "w") as f:
            f.write("x\n")
        os.chmod(unreadable, 0)
        readable = os.path.join(tmp, "readable.pem")
        with open(readable, "w") as f:
            f.write("x\n")
        missing = os.path.join(tmp, "missing.pem")
        as_root = os.geteuid() == 0  # root reads a mode-0 file: only "missing" can be checked then
        bad = [
            ("[mqtt]\nhost = 192.168.1.10:1883\n", ":2: host '192.168.1.10:1883' must be a name or address without a port"),
            ("[mqtt]\nhost = [::1]:1883\n", ":2: host '[::1]:1883' must be a name or address without a port"),
            ("[serial]\ndevice = tcp://relay\n", ":2: device 'tcp://relay' must be tcp://host:port"),
            ("[serial]\ndevice = tcp://relay:\n", ":2: device 'tcp://relay:' must be tcp://host:port"),
            ("[serial]\ndevice = tcp://relay:99999\n", ":2: device 'tcp://relay:99999' must be tcp://host:port"),
            (f"[mqtt]\ntls_ca_file = {missing}\n", f"tls_ca_file '{missing}': cannot read: No such file or directory"),
            (f"[mqtt]\ntls_ca_file = {readable}\ntls_cert_file = {missing}\ntls_key_file = {readable}\n",
             f"tls_cert_file '{missing}': cannot read"),
            (f"[mqtt]\ntls_ca_file = {readable}\ntls_cert_file = {readable}\ntls_key_file = {missing}\n",
             f"tls_key_file '{missing}': cannot read"),
            (f"[meter]\nkey_file = {missing}\n", f"key_file '{missing}': cannot read"),
            (f"[meter]\nauth_key_file = {missing}\n", f"auth_key_file '{missing}': cannot read"),
            (f"[mqtt]\nusername = u\npassword_file = {missing}\n", f"password_file '{missing}': cannot read"),
            ("", "has no section at all (empty file?)"),
            ("# only a comment\n\n", "has no section at all (empty file?)"),
        ]
        if not as_root:
            bad.append((f"[mqtt]\ntls_ca_file = {unreadable}\n", f"tls_ca_file '{unreadable}': cannot read: Permission denied"))
        for text, want in bad:
            rc, out, path = check(tmp, text)
            assert rc == 1 and want in out, f"--check-config accepted or misreported {text!r}: rc {rc}: {out}"
        for text in ("[mqtt]\nhost = ::1\n", "[mqtt]\nhost = broker.lan\n", "[serial]\ndevice = tcp://[::1]:2001\n",
                     "[serial]\ndevice = tcp://relay:2001\n", f"[mqtt]\ntls_ca_file = {readable}\n"):
            rc, out, _ = check(tmp, text)
            assert rc == 0 and "configuration OK" in out, f"refused a good file {text!r}: {out}"

        # SIGHUP with an empty file, then with a missing CA file: both keep the running configuration
        pty = env.add(Pty(tmp))
        sub = env.add(Subscriber(env.broker.port, ["test/#"]))
        good = config(env.broker.port, pty.link)
        d = env.add(Daemon(tmp, good))
        sub.wait_last("test/itest/status", "online")
        pty.write(dsmr5(1))
        sub.wait_json("test/e0034001540777816/state")
        with open(d.conf, "w") as f:
            f.write("")
        d.send(signal.SIGHUP)
        d.wait_log("has no section at all (empty file?); keeping the running configuration")
        with open(d.conf, "w") as f:
            f.write(good.replace("[mqtt]\n", f"[mqtt]\ntls_ca_file = {missing}\n"))
        d.send(signal.SIGHUP)
        d.wait_log(f"tls_ca_file '{missing}': cannot read: No such file or directory; keeping the running configuration")
        assert "configuration reloaded" not in d.text(), d.text()
        pty.write(dsmr5(2))  # still reading and publishing with the old configuration
        sub.wait_json("test/e0034001540777816/state", lambda o: o.get("energy_import_t1") == 1000.002)
        # a valid change of broker settings: a deliberate reconnect, said as such
        with open(d.conf, "w") as f:
            f.write(good.replace("[mqtt]\n", "[mqtt]\nkeepalive = 30\n"))
        d.send(signal.SIGHUP)
        d.wait_log("configuration reloaded")
        d.wait_log("mqtt: disconnecting from 127.0.0.1:%d: configuration reloaded" % env.broker.port)
        sub.wait_last("test/itest/status", "online")
        assert "connection lost" not in d.text(), d.text()
        check_exit_clean(d.stop(), d)  # exit 0 (it crashed with -11 here once)
        sub.wait_last("test/itest/status", "offline")
        sub.wait_last("test/e0034001540777816/availability", "offline")
    print("ok")


if __name__ == "__main__":
    main()
