"""smtest.py — shared helpers for smartmeterd integration tests (run with /usr/bin/python3).

A real mosquitto on a random loopback port, a pseudo-terminal standing in for the meter's serial port
(reached through a symlink, like /dev/serial/by-id/...), an MQTT subscriber that records every message,
the daemon as a child process, and DSMR telegram building with a correct CRC-16/ARC.
Tests wait for conditions with generous deadlines instead of sleeping: the CI machine may be loaded.
Never leaves processes behind: everything started here is stopped by Env.close() (also on failure).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tty

import paho.mqtt.client as paho

SKIP = 77
DEADLINE = 20.0  # seconds for any single expected event on a loaded 2-core machine


def build_dir():
    d = os.environ.get("SMARTMETER_BUILD_DIR")
    if not d:
        d = os.path.join(os.path.dirname(__file__), "..", "..", "..", "build")
    return os.path.abspath(d)


def daemon_path():
    p = os.path.join(build_dir(), "smartmeterd")
    if not os.access(p, os.X_OK):
        print(f"SKIP: {p} not built", file=sys.stderr)
        sys.exit(SKIP)
    return p


def require_mosquitto():
    for c in ("mosquitto", "/usr/sbin/mosquitto"):
        p = shutil.which(c)
        if p:
            return p
    print("SKIP: mosquitto broker not installed", file=sys.stderr)
    sys.exit(SKIP)


def wait_until(cond, timeout=DEADLINE, what="condition", step=0.05):
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(step)


def crc16_arc(data: bytes) -> int:
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def dsmr_telegram(lines, header="/XMX5LGBBFG1012345678", crc=True, bad_crc=False) -> bytes:
    """DSMR 5 telegram from data lines; CRC-16/ARC over '/'..'!' inclusive (PROTOCOLS.md §1.3)."""
    body = (header + "\r\n\r\n" + "".join(l + "\r\n" for l in lines) + "!").encode("ascii")
    if not crc:
        return body + b"\r\n"
    c = crc16_arc(body)
    if bad_crc:
        c ^= 0x5555
    return body + b"%04X\r\n" % c


def hex_text(s: str) -> str:
    return s.encode("ascii").hex().upper()


def dsmr5(i=0, serial="E0034001540777816", power_kw=0.3):
    """A DSMR 5 telegram whose import tariff 1 counter is 1000 + i/1000 kWh (so each telegram is distinct)."""
    return dsmr_telegram([
        "1-3:0.2.8(50)",
        f"0-0:1.0.0(2611211430{i % 60:02d}W)",
        f"0-0:96.1.1({hex_text(serial)})",
        f"1-0:1.8.1({1000 + i / 1000:010.3f}*kWh)",
        "1-0:1.8.2(002345.678*kWh)",
        "1-0:2.8.1(000012.345*kWh)",
        "1-0:2.8.2(000023.456*kWh)",
        "0-0:96.14.0(0002)",
        f"1-0:1.7.0({power_kw:06.3f}*kW)",
        "1-0:2.7.0(00.000*kW)",
        "1-0:32.7.0(231.4*V)",
        "1-0:31.7.0(001*A)",
        "0-1:24.1.0(003)",
        f"0-1:96.1.0({hex_text('G0032561234567890')})",
        "0-1:24.2.1(261121143000W)(01234.567*m3)",
    ])


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Broker:
    def __init__(self, tmp, persistence=False, extra=""):
        self.exe = require_mosquitto()
        self.port = free_port()
        self.tmp = tmp
        self.proc = None
        self.conf = os.path.join(tmp, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n")
            if persistence:
                f.write(f"persistence true\npersistence_location {tmp}/\nautosave_interval 0\n")
            else:
                f.write("persistence false\n")
            f.write(extra)
        self.start()

    def start(self):
        self.log = open(os.path.join(self.tmp, "mosquitto.log"), "ab")
        self.proc = subprocess.Popen([self.exe, "-c", self.conf], stdout=self.log, stderr=subprocess.STDOUT)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("mosquitto exited: see " + self.log.name)
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_until(up, what="mosquitto to listen")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.log.close()


class Subscriber:
    """Records (topic, payload, retain) for every message on the given filters."""

    def __init__(self, port, topics=("#",), client_id="", clean=True, qos=1):
        self.msgs = []
        self.lock = threading.Lock()
        self.connected = threading.Event()
        self.c = paho.Client(client_id=client_id, clean_session=clean)
        self.topics = topics
        self.qos = qos

        def on_connect(c, u, f, rc):
            for t in self.topics:
                c.subscribe(t, qos)
            self.connected.set()

        def on_message(c, u, m):
            with self.lock:
                self.msgs.append((m.topic, m.payload.decode("utf-8", "replace"), m.retain))

        self.c.on_connect = on_connect
        self.c.on_message = on_message
        self.c.reconnect_delay_set(0.1, 0.5)
        self.c.connect("127.0.0.1", port, 30)
        self.c.loop_start()
        if not self.connected.wait(DEADLINE):
            raise AssertionError("test subscriber could not connect")

    def all(self, topic=None):
        with self.lock:
            return [m for m in self.msgs if topic is None or m[0] == topic]

    def payloads(self, topic):
        return [m[1] for m in self.all(topic)]

    def last(self, topic):
        p = self.payloads(topic)
        return p[-1] if p else None

    def wait_last(self, topic, value, timeout=DEADLINE):
        return wait_until(lambda: self.last(topic) == value, timeout, f"{topic} = {value!r} (last: {self.last(topic)!r})")

    def wait_json(self, topic, pred=lambda o: True, timeout=DEADLINE, what=None):
        def find():
            for p in reversed(self.payloads(topic)):
                try:
                    o = json.loads(p)
                except ValueError:
                    continue
                if pred(o):
                    return o
            return None
        return wait_until(find, timeout, what or f"a matching JSON message on {topic}")

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


class Pty:
    """A pseudo-terminal whose slave is reached through a stable symlink (like /dev/serial/by-id)."""

    def __init__(self, tmp):
        self.link = os.path.join(tmp, "ttyMETER")
        self.master = self.slave = None
        self.open()

    def open(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no echo, no line editing, before the daemon even opens it
        tmp_link = self.link + ".new"
        if os.path.lexists(tmp_link):
            os.unlink(tmp_link)
        os.symlink(os.ttyname(self.slave), tmp_link)
        os.rename(tmp_link, self.link)

    def write(self, data: bytes):
        view = memoryview(data)
        while view:
            n = os.write(self.master, view)
            view = view[n:]

    def close(self):
        """Like unplugging the dongle: the daemon's reads fail with EIO / hang-up."""
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)
        self.master = self.slave = None
        if os.path.lexists(self.link):
            os.unlink(self.link)


class Daemon:
    def __init__(self, tmp, config_text, args=("-v",), name="smartmeter.conf", env_extra=None, logname=None):
        self.tmp = tmp
        self.conf = os.path.join(tmp, name)
        with open(self.conf, "w") as f:
            f.write(config_text)
        os.chmod(self.conf, 0o600)
        self.logpath = os.path.join(tmp, logname or "smartmeterd.log")
        self.log = open(self.logpath, "ab")
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        env.pop("JOURNAL_STREAM", None)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        # DSMR timestamps follow the system's zone when it has summer time: pin the tests' expectations
        # (CET/CEST) whatever zone the developer's machine is in.
        env["TZ"] = "UTC"
        env.update(env_extra or {})
        self.proc = subprocess.Popen([daemon_path(), "-c", self.conf, *args], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env)

    def text(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, needle, timeout=DEADLINE):
        return wait_until(lambda: needle in self.text(), timeout, f"daemon log line containing {needle!r}")

    def send(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("daemon did not exit after " + str(sig))
        self.log.close()
        return self.proc.returncode


def config(port, device, extra_mqtt="", extra_meter="", extra_serial="", extra="", state_dir=None):
    """A daemon configuration; learned identities go next to the pty (the test's temp dir), never to
    /var/lib/smartmeterd."""
    if state_dir is None:
        state_dir = os.path.dirname(device) if device.startswith("/") else tempfile.gettempdir()
    return f"""# written by the integration test
[daemon]
state_dir = {state_dir}

[serial]
device = {device}
{extra_serial}
[meter]
{extra_meter}
[mqtt]
host = 127.0.0.1
port = {port}
topic_prefix = test
instance = itest
{extra_mqtt}
[log]
level = info
{extra}"""


def nss_wrapper_env(tmp, hosts):
    """A test-only resolver: cwrap's nss_wrapper (Debian libnss-wrapper) preloaded into the daemon answers
    host lookups from our own hosts file, so a name can resolve to a refusing address before an accepting
    one without touching /etc/hosts. hosts: [(address, name), ...] in the order getaddrinfo returns them.
    Exits 77 (skip) when the library is not installed."""
    lib = None
    for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/lib64"):
        if os.path.exists(os.path.join(d, "libnss_wrapper.so")):
            lib = os.path.join(d, "libnss_wrapper.so")
            break
    if not lib:
        print("SKIP: libnss_wrapper.so not installed (apt-get install libnss-wrapper)", file=sys.stderr)
        sys.exit(SKIP)
    paths = {}
    for name, text in (("hosts", "".join(f"{a} {n}\n" for a, n in hosts)),
                       ("passwd", "root:x:0:0:root:/root:/bin/sh\n"), ("group", "root:x:0:\n")):
        paths[name] = os.path.join(tmp, "nss-" + name)
        with open(paths[name], "w") as f:
            f.write(text)
    asan = os.environ.get("ASAN_OPTIONS", "detect_leaks=1")
    return {"LD_PRELOAD": lib, "NSS_WRAPPER_HOSTS": paths["hosts"], "NSS_WRAPPER_PASSWD": paths["passwd"],
            "NSS_WRAPPER_GROUP": paths["group"], "NSS_WRAPPER_DISABLE_DEEPBIND": "1",  # ASan refuses RTLD_DEEPBIND
            # under ASan the preloaded library comes before the ASan runtime: allowed, it only resolves names
            "ASAN_OPTIONS": asan + ":verify_asan_link_order=0"}


def make_tls_certs(tmp):
    """A CA, a broker certificate for localhost / 127.0.0.1 signed by it, and an unrelated CA; returns the
    mosquitto listener options."""
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=tmp, check=True, capture_output=True, timeout=60)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=smd-test-ca",
            "-keyout", "ca.key", "-out", "ca.crt")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=other-ca",
            "-keyout", "other.key", "-out", "other.crt")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "srv.key", "-out", "srv.csr")
    with open(os.path.join(tmp, "ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
            "-extfile", "ext", "-out", "srv.crt")
    for f in ("ca.crt", "srv.crt", "srv.key"):
        os.chmod(os.path.join(tmp, f), 0o644)  # test keys only: the broker may run as another user
    return f"cafile {tmp}/ca.crt\ncertfile {tmp}/srv.crt\nkeyfile {tmp}/srv.key\n"


class Env:
    """Owns a temp dir and everything started in it; use as a context manager."""

    def __init__(self, persistence=False, broker_extra="", prepare=None):
        self.tmp = tempfile.mkdtemp(prefix="smd-test-")
        os.chmod(self.tmp, 0o755)  # a root-started mosquitto drops to its own user and must read its files
        if prepare:
            broker_extra = prepare(self.tmp)
        self.broker = Broker(self.tmp, persistence, broker_extra)
        self.things = []

    def add(self, thing):
        self.things.append(thing)
        return thing

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        failed = et is not None
        for t in reversed(self.things):
            try:
                if isinstance(t, Daemon):
                    if t.proc.poll() is None:
                        t.proc.kill()
                        t.proc.wait()
                    if failed:
                        sys.stderr.write("---- daemon log ----\n" + t.text() + "--------------------\n")
                else:
                    t.close()
            except Exception as e:  # cleanup must go on
                sys.stderr.write(f"cleanup: {e}\n")
        self.broker.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return False


def check_exit_clean(code, daemon):
    """The daemon exits 0 on SIGTERM; under ASan a leak report would make it non-zero."""
    if code != 0:
        raise AssertionError(f"daemon exit status {code}; log:\n{daemon.text()}")


# ---- DLMS/COSEM push frames (PROTOCOLS.md §3.1 HDLC type 3, §4.2 data-notification, §5 A-XDR) ----

def crc16_x25(data: bytes) -> int:
    """HDLC HCS/FCS: CRC-16/X-25, reflected poly 0x8408, init and xorout 0xFFFF, sent LSB first."""
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def hdlc_frame(info: bytes) -> bytes:
    """7E | A0 LL | dest 41 | src 08 83 | ctrl 13 | HCS | info | FCS | 7E"""
    length = 2 + 1 + 2 + 1 + 2 + len(info) + 2
    head = bytes([0xA0 | (length >> 8), length & 0xFF, 0x41, 0x08, 0x83, 0x13])
    hcs = crc16_x25(head)
    body = head + bytes([hcs & 0xFF, hcs >> 8]) + info
    fcs = crc16_x25(body)
    return b"\x7e" + body + bytes([fcs & 0xFF, fcs >> 8]) + b"\x7e"


def _obis(code):
    return b"\x09\x06" + bytes(code)


def _vstr(s):
    return b"\x0a" + bytes([len(s)]) + s.encode()


def aidon_push(power_w=1234, volt_dv=2301, amp_da=57, meter="7359992890941742", energy_wh=None):
    """An Aidon-style list: array of {OBIS, value[, scaler_unit]} structures in a data-notification
    (with energy_wh: 1-0:1.8.0 as a double-long-unsigned in Wh, like list 3)."""
    items = [
        b"\x02\x02" + _obis([1, 1, 0, 2, 129, 255]) + _vstr("AIDON_V0001"),
        b"\x02\x02" + _obis([0, 0, 96, 1, 0, 255]) + _vstr(meter),
        b"\x02\x03" + _obis([1, 0, 1, 7, 0, 255]) + b"\x06" + power_w.to_bytes(4, "big") + b"\x02\x02\x0f\x00\x16\x1b",
        b"\x02\x03" + _obis([1, 0, 32, 7, 0, 255]) + b"\x12" + volt_dv.to_bytes(2, "big") + b"\x02\x02\x0f\xff\x16\x23",
        b"\x02\x03" + _obis([1, 0, 31, 7, 0, 255]) + b"\x10" + amp_da.to_bytes(2, "big", signed=True) + b"\x02\x02\x0f\xff\x16\x21",
    ]
    if energy_wh is not None:
        items.append(b"\x02\x03" + _obis([1, 0, 1, 8, 0, 255]) + b"\x06" + energy_wh.to_bytes(4, "big") +
                     b"\x02\x02\x0f\x00\x16\x1e")
    apdu = b"\x0f\x40\x00\x00\x00\x00" + b"\x01" + bytes([len(items)]) + b"".join(items)
    return hdlc_frame(b"\xe6\xe7\x00" + apdu)


# ---- Nordic HAN lists (HAN-NVE): list 1 every 2-10 s (power only, no meter id), list 2 with identity,
# voltages and currents every 10 s, list 3 with clock and energy registers once an hour ----

def _u32(v):
    return b"\x06" + v.to_bytes(4, "big")


def _i16(v):
    return b"\x10" + v.to_bytes(2, "big", signed=True)


def _u16(v):
    return b"\x12" + v.to_bytes(2, "big")


def _clock(y, mo, d, h, mi, s):
    return b"\x09\x0c" + y.to_bytes(2, "big") + bytes([mo, d, 0xFF, h, mi, s, 0xFF, 0x80, 0x00, 0x00])


def aidon_list(n, power_w=763, energy_wh=10955183, meter="7359992890497997", hour=19):
    """An Aidon 6534-shaped list n (1, 2 or 3): an array of {OBIS, value[, scaler_unit]} structures, the
    same element types and scalers as a real Aidon (list 1: one structure)."""
    def item(code, val, scaler=None, unit=None):
        if scaler is None:
            return b"\x02\x02" + _obis(code) + val
        return b"\x02\x03" + _obis(code) + val + b"\x02\x02\x0f" + bytes([scaler & 0xFF]) + b"\x16" + bytes([unit])
    items = [item([1, 0, 1, 7, 0, 255], _u32(power_w), 0, 0x1B)]
    if n >= 2:
        items = [item([1, 1, 0, 2, 129, 255], _vstr("AIDON_V0001")), item([0, 0, 96, 1, 0, 255], _vstr(meter)),
                 item([0, 0, 96, 1, 7, 255], _vstr("6534"))] + items + [
            item([1, 0, 2, 7, 0, 255], _u32(0), 0, 0x1B), item([1, 0, 3, 7, 0, 255], _u32(0), 0, 0x1D),
            item([1, 0, 4, 7, 0, 255], _u32(421), 0, 0x1D),
            item([1, 0, 31, 7, 0, 255], _i16(4), -1, 0x21), item([1, 0, 51, 7, 0, 255], _i16(11), -1, 0x21),
            item([1, 0, 71, 7, 0, 255], _i16(23), -1, 0x21),
            item([1, 0, 32, 7, 0, 255], _u16(2328), -1, 0x23), item([1, 0, 52, 7, 0, 255], _u16(2320), -1, 0x23),
            item([1, 0, 72, 7, 0, 255], _u16(2313), -1, 0x23)]
    if n >= 3:
        items += [item([0, 0, 1, 0, 0, 255], _clock(2025, 12, 14, hour, 0, 0)),
                  item([1, 0, 1, 8, 0, 255], _u32(energy_wh // 10), 1, 0x1E),
                  item([1, 0, 2, 8, 0, 255], _u32(0), 1, 0x1E),
                  item([1, 0, 3, 8, 0, 255], _u32(1305), 1, 0x20),
                  item([1, 0, 4, 8, 0, 255], _u32(153400), 1, 0x20)]
    apdu = b"\x0f\x40\x00\x00\x00\x00" + b"\x01" + bytes([len(items)]) + b"".join(items)
    return hdlc_frame(b"\xe6\xe7\x00" + apdu)


def kaifa_list(n, power_w=890, energy_wh=190341, meter="6970631401753985", hour=5):
    """A Kaifa MA304-shaped list n: a notification with its date-time and a structure of bare values in a
    fixed order (no OBIS codes on the wire: the layout is known by its element count, 1 / 13 / 18)."""
    vals = [_u32(power_w)]
    if n >= 2:
        vals = [_vstr("KFM_001"), _vstr(meter), _vstr("MA304H3E"), _u32(power_w), _u32(0), _u32(0), _u32(34),
                _u32(1199), _u32(3226), _u32(3059), _u32(2389), _u32(0), _u32(2392)]
    if n >= 3:
        vals += [_clock(2017, 9, 15, hour, 0, 10), _u32(energy_wh), _u32(0), _u32(353), _u32(17387)]
    apdu = (b"\x0f\x40\x00\x00\x00" + b"\x09\x0c\x07\xe1\x09\x0f\x05" + bytes([hour, 0, 10]) + b"\xff\x80\x00\x00" +
            b"\x02" + bytes([len(vals)]) + b"".join(vals))
    return hdlc_frame(b"\xe6\xe7\x00" + apdu)
