"""daemon_live.py — the running-daemon rows of bench/run (a benchmark, not a test: nothing is asserted).

  python3 bench/daemon_live.py SMARTMETERD BURST_FILE IDLE_SECONDS

Starts a real mosquitto on a free loopback port, an idle mosquitto_sub (the RSS yardstick), a counting
mosquitto_sub, and smartmeterd reading a TCP relay started here. Measures, with the broker connected:
wakeups while idle with no data (voluntary context switches over IDLE_SECONDS), VmRSS and Private_Dirty
idle, then sends BURST_FILE (20 000 DSMR telegrams) as fast as the daemon reads it and measures
Private_Dirty afterwards; then (unless BENCH_NO_ALLOCS is set) runs the daemon under valgrind memcheck
for 100 and 200 paced telegrams at QoS 0 and 1 and prints the heap allocations per telegram of the whole
process (the daemon's own are 0: bench_daemon_publish; the rest is libmosquitto's). Prints Markdown table
rows. Stops everything it started.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def private_dirty(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1])
    return 0


def wait_for(cond, timeout, what):
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise SystemExit(f"daemon_live: timed out waiting for {what}")
        time.sleep(0.05)


def count_lines(path, needle):
    try:
        with open(path, "rb") as f:
            return sum(1 for line in f if needle in line)
    except FileNotFoundError:
        return 0


def allocs_for(daemon, tmp, bport, telegram, n, qos):
    """Heap allocations of the whole running daemon (decoder, publisher, libmosquitto) for n telegrams,
    counted by memcheck; the caller takes the difference of two n so start-up and shutdown cancel."""
    sport = free_port()
    relay = socket.socket()
    relay.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    relay.bind(("127.0.0.1", sport))
    relay.listen(1)
    conf = f"{tmp}/alloc.conf"
    with open(conf, "w") as f:
        f.write(f"[serial]\ndevice = tcp://127.0.0.1:{sport}\n[mqtt]\nhost = 127.0.0.1\nport = {bport}\n"
                f"topic_prefix = alloc{n}\ninstance = alloc{n}\nqos = {qos}\n[homeassistant]\ndiscovery = true\n"
                f"discovery_prefix = ha{n}q{qos}\n"
                f"[daemon]\nstate_dir = {tmp}\n[log]\nlevel = notice\n")
    os.chmod(conf, 0o600)
    out = open(f"{tmp}/alloc{n}.txt", "wb")
    sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(bport), "-v", "-t", f"alloc{n}/#"],
                           stdout=out)
    d = subprocess.Popen(["valgrind", "--tool=memcheck", "--leak-check=no", f"--log-file={tmp}/vg{n}.txt",
                          daemon, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        relay.settimeout(60)
        conn, _ = relay.accept()
        wait_for(lambda: count_lines(f"{tmp}/alloc{n}.txt", f"alloc{n}/alloc{n}/status online".encode()) > 0, 60,
                 "the daemon under valgrind")
        for i in range(n):  # paced a little, as a meter would be: no backlog inside libmosquitto
            conn.sendall(telegram)
            if i % 20 == 19:
                time.sleep(0.05)
        wait_for(lambda: count_lines(f"{tmp}/alloc{n}.txt", b"/state ") >= n, 120, f"{n} states")
        d.terminate()
        d.wait(60)
        conn.close()
    finally:
        if d.poll() is None:
            d.kill()
            d.wait()
        sub.terminate()
        sub.wait()
        relay.close()
    with open(f"{tmp}/vg{n}.txt") as f:
        for line in f:
            if "total heap usage" in line:
                return int(line.split("usage:")[1].split("allocs")[0].replace(",", ""))
    return 0


def main():
    daemon, burst, idle = sys.argv[1], sys.argv[2], float(sys.argv[3])
    broker_exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    tmp = tempfile.mkdtemp(prefix="smbench-")
    procs = []
    try:
        bport, sport = free_port(), free_port()
        with open(f"{tmp}/mosquitto.conf", "w") as f:
            f.write(f"listener {bport} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        procs.append(subprocess.Popen([broker_exe, "-c", f"{tmp}/mosquitto.conf"], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", bport)) == 0, 10, "mosquitto")
        idle_sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(bport), "-t", "nobody/listens"],
                                    stdout=subprocess.DEVNULL)
        procs.append(idle_sub)
        out = open(f"{tmp}/sub.txt", "wb")
        procs.append(subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(bport), "-v", "-t",
                                       "smartmeter/#"], stdout=out))
        relay = socket.socket()
        relay.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        relay.bind(("127.0.0.1", sport))
        relay.listen(1)
        with open(f"{tmp}/smartmeter.conf", "w") as f:
            f.write(f"[serial]\ndevice = tcp://127.0.0.1:{sport}\n[mqtt]\nhost = 127.0.0.1\nport = {bport}\n"
                    "topic_prefix = smartmeter\ninstance = bench\nqos = 1\n[homeassistant]\ndiscovery = true\n"
                    f"[daemon]\nstate_dir = {tmp}\n[log]\nlevel = notice\n")
        os.chmod(f"{tmp}/smartmeter.conf", 0o600)
        d = subprocess.Popen([daemon, "-c", f"{tmp}/smartmeter.conf"], stdout=subprocess.DEVNULL,
                             stderr=open(f"{tmp}/daemon.log", "wb"))
        procs.append(d)
        relay.settimeout(20)
        conn, _ = relay.accept()
        wait_for(lambda: count_lines(f"{tmp}/sub.txt", b"smartmeter/bench/status online") > 0, 20,
                 "the daemon's status online")
        time.sleep(5)  # past the start-up work (the retained-config collection window is 3 s)
        # Each wakeup of the epoll loop is one voluntary context switch (preemptions are not wakeups).
        v0 = status(d.pid, "voluntary_ctxt_switches")
        time.sleep(idle)
        v1 = status(d.pid, "voluntary_ctxt_switches")
        wake = (v1 - v0) / idle * 10
        rss, sub_rss, pd_idle = status(d.pid, "VmRSS"), status(idle_sub.pid, "VmRSS"), private_dirty(d.pid)

        with open(burst, "rb") as f:
            data = f.read()
        telegrams = data.count(b"!") or 1
        t0 = time.monotonic()
        conn.sendall(data)
        last, stable = -1, time.monotonic()
        while time.monotonic() - stable < 3 and time.monotonic() - t0 < 300:
            c = count_lines(f"{tmp}/sub.txt", b"/state ")
            if c != last:
                last, stable = c, time.monotonic()
            if c >= telegrams:
                break
            time.sleep(0.2)
        took = time.monotonic() - t0
        pd_burst, rss_burst = private_dirty(d.pid), status(d.pid, "VmRSS")
        print(f"| daemon idle wakeups (broker connected, no data) | {idle:.0f} s window | "
              f"{wake:.1f} per 10 s | ≤ 1 per 10 s |")
        print(f"| daemon Private_Dirty | idle / after {telegrams} telegrams ({last} states published in "
              f"{took:.1f} s) | {pd_idle} kB / {pd_burst} kB | ≤ 1536 kB after the burst |")
        print(f"| daemon VmRSS idle | against an idle mosquitto_sub ({sub_rss} kB) | {rss} kB "
              f"(+{rss - sub_rss} kB; {rss_burst} kB after the burst) | ≤ +1024 kB |")
        conn.close()
        relay.close()

        if shutil.which("valgrind") and not os.environ.get("BENCH_NO_ALLOCS"):
            one = data[:data.index(b"!") + 1]
            one = data[:data.index(b"\n", len(one)) + 1]
            for qos in (0, 1):
                a, b = allocs_for(daemon, tmp, bport, one, 100, qos), allocs_for(daemon, tmp, bport, one, 200, qos)
                print(f"| daemon heap allocations/telegram, running (decoder + publisher + libmosquitto) | "
                      f"DSMR 5, MQTT QoS {qos}, obis + state | {(b - a) / 100:.1f} | 0 (what remains is "
                      f"libmosquitto's) |")
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
