#!/usr/bin/python3
"""[log] target = syslog: the daemon's lines reach syslog(3)'s socket with facility daemon, their
level as priority and ident smartmeterd[pid], nothing goes to stderr, and the key never appears.
syslog(3) always writes to /dev/log, so the daemon runs in a private mount namespace whose /dev/log
is our socket (needs root and unshare; skipped otherwise — nothing outside the namespace changes)."""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from smtest import SKIP, daemon_path  # noqa: E402

KEY = "00112233445566778899aabbccddeeff"
LOG_DAEMON = 3 << 3


def main():
    daemon = daemon_path()
    if os.geteuid() != 0 or not shutil.which("unshare"):
        print("SKIP: needs root and unshare(1) to give the daemon its own /dev/log")
        sys.exit(SKIP)
    if subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode != 0:
        print("SKIP: unshare --mount is not permitted here")
        sys.exit(SKIP)
    tmp = tempfile.mkdtemp(prefix="smd-syslog-")
    try:
        sock_path = os.path.join(tmp, "log")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        sock.settimeout(0.5)
        conf = os.path.join(tmp, "smartmeter.conf")
        with open(conf, "w") as f:
            # nothing listens on port 1: the daemon keeps logging retries, which is all we need
            f.write(f"[serial]\ndevice = tcp://127.0.0.1:1\n[meter]\nkey = {KEY}\n"
                    "[mqtt]\nhost = 127.0.0.1\nport = 1\n[log]\ntarget = syslog\nlevel = info\n")
        os.chmod(conf, 0o600)
        # a tmpfs /dev holding only what the daemon needs, and log -> our socket
        script = f"""set -e
mkdir -p {tmp}/olddev
mount --rbind /dev {tmp}/olddev
mount -t tmpfs none /dev
for n in null zero random urandom; do touch /dev/$n; mount --bind {tmp}/olddev/$n /dev/$n; done
ln -s {sock_path} /dev/log
exec "$@"
"""
        env = dict(os.environ)
        env.pop("JOURNAL_STREAM", None)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                                 daemon, "-c", conf], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        lines = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (any("<30>" in x for x in lines) and any("<28>" in x for x in lines)):
            try:
                lines.append(sock.recv(4096).decode("utf-8", "replace"))
            except socket.timeout:
                if proc.poll() is not None:
                    break
        proc.terminate()
        out, err = proc.communicate(timeout=10)
        text = "\n".join(lines)
        print(text)
        start = [x for x in lines if re.match(rf"<{LOG_DAEMON | 6}>.*smartmeterd\[\d+\]: smartmeterd \S+: reading tcp://", x)]
        if not start:
            raise SystemExit(f"no daemon.info start line in syslog; got {lines!r}; stderr {err!r}")
        if not any(x.startswith(f"<{LOG_DAEMON | 4}>") for x in lines):
            raise SystemExit("no daemon.warning line (the failing connections) in syslog")
        if KEY in text or KEY.upper() in text:
            raise SystemExit("the key reached syslog")
        if err.strip():
            raise SystemExit(f"with target = syslog the daemon still wrote to stderr: {err!r}")
        if proc.returncode != 0:
            raise SystemExit(f"daemon exit status {proc.returncode} after SIGTERM")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
