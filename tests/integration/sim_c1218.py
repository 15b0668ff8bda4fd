#!/usr/bin/python3
"""sim_c1218.py — a simulated Echelon/NES meter behind an ANSI C12.18 optical port, on a pseudo-terminal.

Written apart from the daemon's code (nothing shared with src/lib/c1218*.c): it opens a pty pair, points
a symlink at the slave (the daemon's [serial] device) and answers on the master like a meter:
Identify, Negotiate, Logon, Security (`err` for a wrong password), partial/full Read of ST0, ST1, ST21,
BT23, BT28 (`isc` before Security), Logoff, Terminate; its own toggle bit, ACK/NAK with resends, duplicate
detection, multi-packet answers cut to the negotiated packet size, and the 6 s session timeout.
Faults for the tests (--faults or $SIM_C1218_FAULTS, comma separated NAME:COUNT):
  badcrc:N     damage the CRC of the next N answer packets (the resend is good)
  lostack:N    do not ACK the next N requests (answer them anyway)
  ignoreack:N  take the ACK of the next N answers as lost: the packet is sent again (a duplicate)
  bsy:N        answer bsy to the next N reads of BT23
  silent:N     ignore the next N requests completely
  stall:N      at the next N reads of BT28 fall silent for 10 s mid-session (ignoring every byte), so the
               meter's 6 s session timeout ends the session
--jump-at K makes the K-th read of BT23 report A+ 50,000 kWh too high (the glitch NES users report).
Events go to --log as JSON lines ({"t": seconds, "ev": name, ...}) for the tests to assert on.
Runs until SIGTERM/SIGINT.
"""
import argparse
import json
import os
import select
import signal
import struct
import sys
import time
import tty

STP, ACK, NAK = 0xEE, 0x06, 0x15
ACK_TIMEOUT = 2.0
CHAR_TIMEOUT = 0.5
SESSION_TIMEOUT = 6.0
RESENDS = 3
STALL = 10.0


def crc_x25(data):
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def packet(ctrl, seq, data):
    head = bytes([STP, 0x00, ctrl, seq]) + struct.pack(">H", len(data)) + data
    c = crc_x25(head)
    return head + bytes([c & 0xFF, c >> 8])


class Meter:
    def __init__(self, args, log):
        self.args = args
        self.log = log
        self.faults = {}
        for item in filter(None, (args.faults or os.environ.get("SIM_C1218_FAULTS", "")).split(",")):
            name, _, n = item.partition(":")
            self.faults[name.strip()] = int(n or 1)
        if args.password_ascii is not None:
            pw = args.password_ascii.encode("latin-1")
        else:
            pw = bytes.fromhex(args.password_hex)
        self.password = pw.ljust(20, b" " if args.pad == "space" else b"\0")[:20]
        self.a_plus = 344180
        self.a_minus = 7583
        self.rx = bytearray()
        self.rx_last = 0.0
        self.out_queue = []      # packets of the answer still to send
        self.awaiting_ack = None  # (packet bytes, deadline, resends)
        self.last_accepted = None  # (toggle, crc) of the last request accepted
        self.stall_until = 0.0
        self.bt23_reads = 0
        self.end_after_answer = False
        self.reset_session()

    def ev(self, what, **kw):
        kw.update(t=round(time.monotonic(), 3), ev=what)
        self.log.write(json.dumps(kw) + "\n")
        self.log.flush()

    def fault(self, name):
        if self.faults.get(name, 0) > 0:
            self.faults[name] -= 1
            self.ev("fault", name=name)
            return True
        return False

    def reset_session(self):
        self.in_session = False
        self.toggle = 0
        self.pktsize = 64
        self.nbrpkt = 1
        self.logged_on = False
        self.secured = False

    # ---- tables (little-endian INT32, NES layout) ----
    def table(self, tid):
        if tid == 0:
            return bytes([0x02, 0x00, 0x88]) + b"EE  " + bytes(12)
        if tid == 1:
            return b"EE  " + b"83334-3I" + bytes([1, 2, 3, 4]) + self.args.serial.rjust(16).encode()
        if tid == 21:
            return bytes([0x00, 0x00, 0x00, 2, 0, 0, 0, 0, 0, self.args.present_values])
        if tid == 23:
            self.bt23_reads += 1
            glitch = 50000000 if self.bt23_reads == self.args.jump_at else 0
            if glitch:
                self.ev("jump")
            return struct.pack("<ii", self.a_plus + glitch, self.a_minus)
        if tid == 28:
            vals = [2710, 0, 0, 569, 3320, 3292, 6544, 225319, 225263, 225398, 990, 49998, 2964]
            vals += [1000 + i for i in range(len(vals), self.args.present_values)]
            return b"".join(struct.pack("<i", v) for v in vals[:self.args.present_values])
        return None

    # ---- services ----
    def serve(self, d):
        svc = d[0]
        if svc == 0x20:
            self.reset_session()
            self.in_session = True
            self.ev("identify")
            return bytes([0x00, 0x00, 0x01, 0x00, 0x00])
        if not self.in_session:
            self.ev("out-of-session", svc=svc)
            return bytes([0x0A])  # isss
        if 0x60 <= svc <= 0x6B:
            ps, n = struct.unpack(">HB", d[1:4])
            self.pktsize, self.nbrpkt = min(ps, 256), min(n, 4)
            self.ev("negotiate", pktsize=self.pktsize, nbrpkt=self.nbrpkt)
            return bytes([0x00]) + struct.pack(">HB", self.pktsize, self.nbrpkt) + (d[4:5] if svc > 0x60 else b"")
        if svc == 0x50:
            uid = struct.unpack(">H", d[1:3])[0]
            self.logged_on = True
            self.ev("logon", user_id=uid, user=d[3:13].decode("latin-1"))
            return bytes([0x00])
        if svc == 0x51:
            ok = self.logged_on and d[1:21] == self.password
            self.secured = ok
            self.ev("security", ok=ok)
            return bytes([0x00 if ok else 0x01])
        if svc in (0x30, 0x3F):
            tid = struct.unpack(">H", d[1:3])[0]
            if svc == 0x3F:
                off = int.from_bytes(d[3:6], "big")
                cnt = struct.unpack(">H", d[6:8])[0]
            if not self.secured:
                self.ev("read", table=tid, refused="isc")
                return bytes([0x03])
            if tid == 23 and self.fault("bsy"):
                self.ev("read", table=tid, refused="bsy")
                return bytes([0x06])
            if tid == 28 and self.fault("stall"):
                self.stall_until = time.monotonic() + STALL
                self.ev("stall", seconds=STALL)
                return None
            t = self.table(tid)
            if t is None:
                return bytes([0x02])
            if svc == 0x3F:
                if off + cnt > len(t):
                    self.ev("read", table=tid, refused="iar")
                    return bytes([0x05])
                t = t[off:off + cnt]
            else:
                off, cnt = 0, len(t)
            self.ev("read", table=tid, offset=off, count=cnt)
            if tid == 23:
                self.a_plus += 10  # the counter moves between polls
            return bytes([0x00]) + struct.pack(">H", len(t)) + t + bytes([(-sum(t)) & 0xFF])
        if svc == 0x52:
            self.ev("logoff")
            self.secured = self.logged_on = False
            return bytes([0x00])
        if svc == 0x21:
            self.ev("terminate")
            self.end_after_answer = True  # the answer still carries this session's toggle bit
            return bytes([0x00])
        if svc == 0x70:
            return bytes([0x00])
        return bytes([0x02])  # sns

    def queue_answer(self, data):
        per = self.pktsize - 8
        parts = [data[i:i + per] for i in range(0, len(data), per)] or [b""]
        n = len(parts)
        for i, p in enumerate(parts):
            ctrl = (0x80 if n > 1 else 0) | (0x40 if n > 1 and i == 0 else 0) | (0x20 if self.toggle else 0)
            self.toggle ^= 1
            self.out_queue.append(packet(ctrl, n - 1 - i, p))
        if n > 1:
            self.ev("multi-packet", packets=n)

    # ---- link ----
    def send_next(self, fd):
        if self.awaiting_ack or not self.out_queue:
            return
        pkt = self.out_queue.pop(0)
        self.write_packet(fd, pkt)
        self.awaiting_ack = [pkt, time.monotonic() + ACK_TIMEOUT, 0]

    def write_packet(self, fd, pkt):
        wire = bytearray(pkt)
        if self.fault("badcrc"):
            wire[-1] ^= 0x5A
        os.write(fd, bytes(wire))

    def on_bytes(self, fd, data):
        now = time.monotonic()
        if now < self.stall_until:
            return  # deaf: not even counted as traffic, so the session times out
        if self.in_session and self.rx_last and now - self.rx_last > SESSION_TIMEOUT:
            self.ev("session-timeout")
            self.reset_session()
        self.rx_last = now
        self.rx += data
        while self.rx:
            b = self.rx[0]
            if b != STP:
                del self.rx[0]
                if b == ACK and self.awaiting_ack:
                    if self.fault("ignoreack"):
                        # as if this ACK was lost and the resend timer fired: the same packet again
                        os.write(fd, self.awaiting_ack[0])
                    self.awaiting_ack = None
                    self.send_next(fd)
                elif b == NAK and self.awaiting_ack:
                    self.ev("nak")
                    self.resend(fd)
                continue
            if len(self.rx) < 6:
                return
            ln = struct.unpack(">H", self.rx[4:6])[0]
            if self.rx[1] != 0 or ln > 1024:
                del self.rx[0]
                continue
            if len(self.rx) < ln + 8:
                return
            pkt = bytes(self.rx[:ln + 8])
            del self.rx[:ln + 8]
            crc = pkt[-2] | pkt[-1] << 8
            if crc_x25(pkt[:-2]) != crc:
                self.ev("bad-crc-received")
                os.write(fd, bytes([NAK]))
                continue
            if self.fault("silent"):
                continue
            if self.awaiting_ack:  # a new request: our last answer arrived, its ACK did not
                self.awaiting_ack = None
            if not self.fault("lostack"):
                os.write(fd, bytes([ACK]))
            key = (pkt[2] & 0x20, crc)
            if key == self.last_accepted:
                self.ev("duplicate-request")
                continue
            self.last_accepted = key
            self.end_after_answer = False
            ans = self.serve(pkt[6:-2])
            if ans is None:  # stalled
                self.rx.clear()
                return
            self.queue_answer(ans)
            if self.end_after_answer:
                self.reset_session()
            self.send_next(fd)

    def resend(self, fd):
        pkt, _, n = self.awaiting_ack
        if n >= RESENDS:
            self.ev("gave-up")
            self.awaiting_ack = None
            self.out_queue.clear()
            return
        self.write_packet(fd, pkt)
        self.awaiting_ack = [pkt, time.monotonic() + ACK_TIMEOUT, n + 1]

    def on_timer(self, fd):
        now = time.monotonic()
        if self.rx and now - self.rx_last > CHAR_TIMEOUT:
            self.rx.clear()
        if self.awaiting_ack and now >= self.awaiting_ack[1]:
            self.ev("ack-timeout")
            self.resend(fd)
        if self.in_session and now - self.rx_last > SESSION_TIMEOUT and not self.awaiting_ack:
            self.ev("session-timeout")
            self.reset_session()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--link", required=True, help="symlink to create for the pty slave")
    ap.add_argument("--password-hex", default="00112233445566778899aabbccddeeff")
    ap.add_argument("--password-ascii")
    ap.add_argument("--pad", choices=("nul", "space"), default="nul")
    ap.add_argument("--serial", default="5706567001")
    ap.add_argument("--present-values", type=int, default=13)
    ap.add_argument("--faults")
    ap.add_argument("--jump-at", type=int, default=0)
    ap.add_argument("--log", default="-")
    args = ap.parse_args()
    log = sys.stdout if args.log == "-" else open(args.log, "a")

    master, slave = os.openpty()
    tty.setraw(slave)
    tty.setraw(master)
    tmp = args.link + ".new"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(os.ttyname(slave), tmp)
    os.rename(tmp, args.link)
    m = Meter(args, log)
    m.ev("ready", tty=os.ttyname(slave))
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    signal.signal(signal.SIGINT, lambda *a: stop.append(1))
    while not stop:
        try:
            r, _, _ = select.select([master], [], [], 0.05)
        except InterruptedError:
            continue
        if r:
            try:
                data = os.read(master, 4096)
            except OSError:
                data = b""  # the daemon closed the slave (EIO until it reopens)
                time.sleep(0.05)
            if data:
                m.on_bytes(master, data)
        m.on_timer(master)
    os.unlink(args.link)


if __name__ == "__main__":
    main()
