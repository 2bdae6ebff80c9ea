#!/usr/bin/env python3
"""prom-process-exporter against real processes and Debian's prometheus.

1. The exporter starts on a free loopback port with a config grouping
   processes this test starts itself by a marker in their command line
   ("pe-itest-marker-<tag>", named capture -> group "pe-test-<tag>"):
   group alpha has two python processes that burn some CPU then sleep,
   group beta is a shell with a `sleep` child (counted by -children).
2. The groups show num_procs, states, CPU and resident memory as expected.
3. One alpha process is killed: num_procs drops, counters do not go down.
4. `promtool check metrics` finds no format error (exit 0, or 3 for lint advice).
5. prometheus scrapes the exporter every second; its API reports up == 1 and
   the groups' num_procs.

Every process started here is stopped by pid in a finally block; logs are
printed when something fails.

Usage: process_exporter.py <source dir> <build dir>
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

BIN = os.path.join(sys.argv[2], "bin", "prom-process-exporter")
TMP = tempfile.mkdtemp(prefix="prom-procexp-")
procs = []  # (name, Popen, log path or None)

BURN = ("import time\nt = time.time()\nwhile time.time() - t < 0.3:\n    pass\n"
        "time.sleep(300)\n")

CONFIG = """process_names:
  - name: "pe-test-{{.Matches.tag}}"
    cmdline:
      - 'pe-itest-marker-(?P<tag>[a-z]+)'
"""

COUNTERS = ["cpu_seconds_total", "read_bytes_total", "write_bytes_total",
            "major_page_faults_total", "minor_page_faults_total",
            "context_switches_total"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def spawn(name, argv, log=True):
    out = open(os.path.join(TMP, name + ".log"), "w") if log else subprocess.DEVNULL
    p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    procs.append((name, p, out.name if log else None))
    return p


def wait_for(what, fn, timeout=30):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def samples(text):
    """{(name, frozenset(labels)): value} of a text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        assert m, f"unparsable line {line!r}"
        labels = frozenset(re.findall(r'([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def group_values(s, metric, group):
    """{other labels: value} of namedprocess_namegroup_<metric> for a group."""
    name = "namedprocess_namegroup_" + metric
    return {tuple(sorted(l for l in labels if l[0] != "groupname")): v
            for (n, labels), v in s.items()
            if n == name and ("groupname", group) in labels}


def scrape(port):
    code, body = http(f"http://127.0.0.1:{port}/metrics")
    assert code == 200, f"scrape answered {code}: {body[:200]}"
    return body


def check_groups(port):
    def ready():
        s = samples(scrape(port))
        a = group_values(s, "num_procs", "pe-test-alpha")
        b = group_values(s, "num_procs", "pe-test-beta")
        return s if a.get(()) == 2 and b.get(()) == 2 else None

    s = wait_for("both groups with 2 processes", ready)
    for g in ("pe-test-alpha", "pe-test-beta"):
        states = group_values(s, "states", g)
        assert sorted(k[0][1] for k in states) == ["Other", "Running", "Sleeping", "Waiting",
                                                   "Zombie"], states
        assert sum(states.values()) >= 2, states
        mem = group_values(s, "memory_bytes", g)
        assert mem[(("memtype", "resident"),)] > 0, mem
        assert mem[(("memtype", "virtual"),)] > 0, mem
        assert group_values(s, "oldest_start_time_seconds", g)[()] > 1e9
        assert group_values(s, "open_filedesc", g)[()] >= 2
    cpu = wait_for("alpha CPU > 0", lambda: sum(group_values(
        samples(scrape(port)), "cpu_seconds_total", "pe-test-alpha").values()) > 0 and True)
    assert cpu
    print("ok: groups alpha and beta with num_procs, states, cpu, memory")


def check_kill(port, alpha):
    time.sleep(1.0)  # let the busy loops finish so CPU stops moving much
    before = samples(scrape(port))
    victim = alpha[0]
    victim.kill()
    victim.wait()

    def dropped():
        s = samples(scrape(port))
        return s if group_values(s, "num_procs", "pe-test-alpha").get(()) == 1 else None

    after = wait_for("alpha num_procs 1 after the kill", dropped)
    for metric in COUNTERS:
        b = group_values(before, metric, "pe-test-alpha")
        a = group_values(after, metric, "pe-test-alpha")
        assert b.keys() == a.keys(), (metric, b, a)
        for k, v in b.items():
            assert a[k] >= v, f"{metric}{k} went down from {v} to {a[k]} after the kill"
    print("ok: counters did not go down after a process of the group exited")
    return after


def check_promtool(port):
    text = scrape(port)
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=60)
    assert p.returncode in (0, 3), f"promtool: {p.returncode} {p.stdout!r} {p.stderr!r}"
    print(f"ok: promtool check metrics exit {p.returncode}")


def check_prometheus(port):
    pport = free_port()
    cfg = os.path.join(TMP, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: pe\n    static_configs:\n"
                f"      - targets: ['127.0.0.1:{port}']\n")
    spawn("prometheus", ["prometheus", f"--config.file={cfg}",
                         f"--storage.tsdb.path={os.path.join(TMP, 'data')}",
                         f"--web.listen-address=127.0.0.1:{pport}"])

    def query(q):
        code, body = http(f"http://127.0.0.1:{pport}/api/v1/query?" +
                          urllib.parse.urlencode({"query": q}))
        if code != 200:
            return None
        res = json.loads(body)["data"]["result"]
        return res or None

    up = wait_for("prometheus up == 1", lambda: query('up{job="pe"} == 1'), timeout=60)
    assert up[0]["value"][1] == "1", up
    n = wait_for("num_procs in prometheus", lambda: query(
        'namedprocess_namegroup_num_procs{groupname="pe-test-beta"}'), timeout=30)
    assert n[0]["value"][1] == "2", n
    print("ok: prometheus scrapes the exporter, up == 1")


def main():
    port = free_port()
    cfg = os.path.join(TMP, "pe.yml")
    with open(cfg, "w") as f:
        f.write(CONFIG)
    alpha = [spawn(f"alpha{i}", ["python3", "-c", BURN, "pe-itest-marker-alpha"], log=False)
             for i in range(2)]
    spawn("beta", ["sh", "-c", "sleep 300 & wait", "pe-itest-marker-beta"], log=False)
    spawn("exporter", [BIN, "-config.path", cfg, f"--web.listen-address=127.0.0.1:{port}",
                       "-threads=true"])
    wait_for("exporter /metrics", lambda: http(f"http://127.0.0.1:{port}/metrics")[0] == 200)
    check_groups(port)
    check_kill(port, alpha)
    check_promtool(port)
    check_prometheus(port)


def stop_all():
    for name, p, _ in reversed(procs):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)  # our own session: the shell's child too
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


if __name__ == "__main__":
    ok = False
    try:
        main()
        ok = True
    finally:
        stop_all()
        if not ok:
            for name, _, log in procs:
                if log:
                    print(f"---- {name} log ----")
                    with open(log, errors="replace") as f:
                        print(f.read()[-5000:])
        shutil.rmtree(TMP, ignore_errors=True)
    print("PASS")
