"""The measurements of bench/pushgateway/run (see there); argv: ours theirs seconds."""
import http.client
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, *flags):
    port = free_port()
    argv = [binary, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file=", *flags]
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/-/ready")
            if c.getresponse().status == 200:
                return p, port
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{binary} did not start")


def body(n_families, per_family, tag=""):
    lines = []
    for f in range(n_families):
        lines.append(f"# HELP bench_family_{f} A benchmark family.\n# TYPE bench_family_{f} gauge\n")
        for i in range(per_family):
            lines.append(f'bench_family_{f}{{series="{i}",tag="{tag}"}} {i * 1.5 + f}\n')
    return "".join(lines).encode()


def client(port, k, seconds, out):
    data = body(10, 100, tag=str(k))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    n, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        conn.request("PUT", f"/metrics/job/bench/instance/client-{k}", data)
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit(f"push answered {r.status}")
        n += 1
    out.put(n)


def pushes_per_second(binary, seconds):
    p, port = start(binary)
    try:
        q = multiprocessing.Queue()
        procs = [multiprocessing.Process(target=client, args=(port, k, seconds, q)) for k in range(4)]
        t0 = time.monotonic()
        for c in procs:
            c.start()
        total = sum(q.get() for _ in procs)
        for c in procs:
            c.join()
        return total / (time.monotonic() - t0)
    finally:
        p.terminate()
        p.wait()


def vmhwm_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def scrape(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    t0 = time.monotonic()
    conn.request("GET", "/metrics")
    r = conn.getresponse()
    data = r.read()
    elapsed = time.monotonic() - t0
    if r.status != 200:
        raise SystemExit(f"scrape answered {r.status}")
    return elapsed, data.count(b"\nbench_family_")


def fill_and_scrape(binary):
    p, port = start(binary, "--push.disable-consistency-check")
    try:
        data = body(30, 10)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for g in range(1000):
            conn.request("PUT", f"/metrics/job/fill/instance/host-{g}", data)
            r = conn.getresponse()
            r.read()
            if r.status not in (200, 202):
                raise SystemExit(f"fill answered {r.status}")
        time.sleep(1)  # the upstream store applies queued writes asynchronously
        times = []
        for _ in range(5):
            t, n = scrape(port)
            times.append(t)
        if n < 300000:
            raise SystemExit(f"{binary}: scrape had {n} series, want 300000")
        return vmhwm_kb(p.pid), statistics.median(times), n
    finally:
        p.terminate()
        p.wait()


def main():
    ours, theirs, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    print(f"\n1. pushes/s, 4 clients, 1,000-series body, {seconds:g} s each")
    po, pt = pushes_per_second(ours, seconds), pushes_per_second(theirs, seconds)
    print(f"   ours {po:10.0f}/s   debian {pt:10.0f}/s   ratio {po / pt:6.1f}x   (target >= 5x)")
    print("\n2./3. 300,000 series in 1,000 groups")
    ro, so, no = fill_and_scrape(ours)
    rt, st, nt = fill_and_scrape(theirs)
    print(f"   peak RSS: ours {ro / 1024:8.1f} MiB   debian {rt / 1024:8.1f} MiB   "
          f"ratio 1/{rt / ro:.1f}   (target <= 1/4)")
    print(f"   scrape:   ours {so * 1000:8.0f} ms    debian {st * 1000:8.0f} ms    "
          f"ratio {st / so:6.1f}x   (target >= 3x; {no} and {nt} series lines)")


if __name__ == "__main__":
    main()
