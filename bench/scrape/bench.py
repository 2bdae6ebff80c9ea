#!/usr/bin/env python3
"""bench/scrape/bench.py - scraping cost of prom-server, Debian's prometheus
and victoria-metrics on the same targets (issue 8's benchmark).

  bench.py <build dir> <targets> <series per target> <interval s> <seconds>

One target generator (bench-scrape-targets) serves every target under its own
path; each server gets the same configuration: one job whose static targets
set __metrics_path__ and instance.  The servers run one after the other (so
they do not compete for the 2 cores), each for a warm-up of 20 intervals
(BENCH_WARMUP overrides the count) plus `seconds` of measurement, and for
each we print:

  - CPU seconds (utime + stime of the server process) per million samples
    ingested during the measurement, the samples counted from the server's
    own answers: sum over targets of count_over_time(up[...]) times the
    samples per scrape;
  - RSS per active series (targets x (series + 5)): the largest VmRSS seen
    during the measurement, sampled every second.  The warm-up is long
    enough for steady state: every open chunk past the point (16 samples)
    where a head without a spill log would grow it to a full chunk's size;
  - whether every `up` is 1 and sum(scrape_samples_scraped) equals
    targets x series.

Targets (issue 8): CPU per million samples at most 1/3 of Prometheus's and
lower than VictoriaMetrics'; RSS per active series at most 1/4 of
Prometheus's.  Exits 1 when a server's targets are not all up or its sample
counts disagree.

BENCH_SERVERS (comma-separated names, e.g. "prom-server") runs only those
servers (for quick iterations on one of them); BENCH_KEEP=1 leaves the
servers' logs and data directories in place and prints where; BENCH_PERF=<file>
records prom-server's measured part with `perf record -g` into that file.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=30):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def query(base, q):
    status, text = get(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": q}))
    if status != 200:
        raise RuntimeError(f"{base}: {q}: {status} {text[:200]}")
    return json.loads(text)["data"]["result"]


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_bytes(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def write_config(path, gen_port, targets, interval):
    with open(path, "w") as f:
        f.write(f"global:\n  scrape_interval: {interval}s\n  scrape_timeout: {max(1, interval - 1)}s\n")
        f.write("scrape_configs:\n  - job_name: bench\n    static_configs:\n")
        for i in range(targets):
            f.write(f"      - targets: ['127.0.0.1:{gen_port}']\n"
                    f"        labels: {{__metrics_path__: '/t/{i}/metrics', instance: 't{i}'}}\n")


def run_server(name, argv, base, pid_of, targets, series, interval, seconds, tmp):
    log = open(os.path.join(tmp, name + ".log"), "w")
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 60
        while get(f"{base}/-/ready" if name != "victoria-metrics" else f"{base}/health")[0] != 200:
            if p.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{name} did not start (see {tmp}/{name}.log)")
            time.sleep(0.2)
        # Warm-up: every series created, the open chunks past their growth.
        time.sleep(int(os.environ.get("BENCH_WARMUP", "20")) * interval)
        pid = pid_of(p)
        perf = None
        if os.environ.get("BENCH_PERF") and name == "prom-server":
            perf = subprocess.Popen(["perf", "record", "--call-graph", os.environ.get("BENCH_PERF_CG", "fp"), "-F", os.environ.get("BENCH_PERF_FREQ", "999"), "-p", str(pid), "-o",
                                     os.environ["BENCH_PERF"], "--", "sleep", str(seconds)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        c0, t0 = cpu_seconds(pid), time.time()
        rss = rss_bytes(pid)
        while time.time() < t0 + seconds:
            time.sleep(min(1.0, max(0.0, t0 + seconds - time.time())))
            rss = max(rss, rss_bytes(pid))
        if perf:
            perf.wait()
        c1, t1 = cpu_seconds(pid), time.time()
        window = int(t1 - t0)
        ups = query(base, f'count_over_time(up{{job="bench"}}[{window}s])')
        scrapes = sum(float(r["value"][1]) for r in ups)
        samples = scrapes * (series + 5)
        up = query(base, 'up{job="bench"}')
        all_up = len(up) == targets and all(r["value"][1] == "1" for r in up)
        scraped = query(base, 'sum(scrape_samples_scraped{job="bench"})')
        total = float(scraped[0]["value"][1]) if scraped else 0
        return {
            "cpu_per_million": (c1 - c0) / (samples / 1e6) if samples else float("inf"),
            "samples": samples,
            "rss_per_series": rss / (targets * (series + 5)),
            "rss": rss,
            "all_up": all_up,
            "counts_ok": total == targets * series,
        }
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def main():
    build, targets, series, interval, seconds = (sys.argv[1], int(sys.argv[2]),
                                                 int(sys.argv[3]), int(sys.argv[4]),
                                                 int(sys.argv[5]))
    tmp = tempfile.mkdtemp(prefix="bench-scrape-")
    gen_port = free_port()
    gen = subprocess.Popen([os.path.join(build, "bin", "bench-scrape-targets"),
                            f"127.0.0.1:{gen_port}", str(targets), str(series)],
                           start_new_session=True)
    results = {}
    failed = False
    try:
        for _ in range(100):
            if get(f"http://127.0.0.1:{gen_port}/t/0/metrics")[0] == 200:
                break
            time.sleep(0.1)
        cfg = os.path.join(tmp, "scrape.yml")
        write_config(cfg, gen_port, targets, interval)
        runs = []
        port = free_port()
        runs.append(("prom-server",
                     [os.path.join(build, "bin", "prom-server"), f"--config.file={cfg}",
                      f"--storage.tsdb.path={tmp}/ours", f"--web.listen-address=127.0.0.1:{port}"],
                     f"http://127.0.0.1:{port}", lambda p: p.pid))
        port = free_port()
        runs.append(("prometheus",
                     ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={tmp}/prom",
                      f"--web.listen-address=127.0.0.1:{port}"],
                     f"http://127.0.0.1:{port}", lambda p: p.pid))
        if shutil.which("victoria-metrics"):
            port = free_port()
            runs.append(("victoria-metrics",
                         ["victoria-metrics", f"-promscrape.config={cfg}",
                          f"-storageDataPath={tmp}/vm", f"-httpListenAddr=127.0.0.1:{port}",
                          "-search.latencyOffset=0s"],
                         f"http://127.0.0.1:{port}", lambda p: p.pid))
        only = [x for x in os.environ.get("BENCH_SERVERS", "").split(",") if x]
        if only:
            runs = [r for r in runs if r[0] in only]
        for name, argv, base, pid_of in runs:
            print(f"running {name} ...", flush=True)
            results[name] = run_server(name, argv, base, pid_of, targets, series, interval,
                                       seconds, tmp)
    finally:
        os.killpg(gen.pid, signal.SIGTERM)
        gen.wait()
    print(f"\n{targets} targets x {series} series every {interval} s, {seconds} s measured "
          f"after a {int(os.environ.get('BENCH_WARMUP', '20')) * interval} s warm-up "
          f"(RSS: the peak while measured); servers run one after the other\n")
    print(f"{'server':<18} {'CPU s / M samples':>18} {'RSS / series':>14} {'RSS':>10} "
          f"{'samples':>10} {'all up':>7} {'counts':>7}")
    for name, r in results.items():
        print(f"{name:<18} {r['cpu_per_million']:>18.3f} {r['rss_per_series']:>12.0f} B "
              f"{r['rss'] / 2**20:>7.1f} MiB {r['samples']:>10.0f} {str(r['all_up']):>7} "
              f"{str(r['counts_ok']):>7}")
        failed |= not (r["all_up"] and r["counts_ok"])
    ours = results.get("prom-server")
    prom = results.get("prometheus")
    vm = results.get("victoria-metrics")
    if ours and prom:
        cpu_ratio = prom["cpu_per_million"] / ours["cpu_per_million"]
        rss_ratio = prom["rss_per_series"] / ours["rss_per_series"]
        print(f"\nCPU per million samples: {cpu_ratio:.2f}x less than Prometheus "
              f"(target >= 3x: {'met' if cpu_ratio >= 3 else 'not met'})")
        print(f"RSS per active series:   {rss_ratio:.2f}x less than Prometheus "
              f"(target >= 4x: {'met' if rss_ratio >= 4 else 'not met'})")
    if ours and vm:
        ratio = vm["cpu_per_million"] / ours["cpu_per_million"]
        print(f"CPU per million samples: {ratio:.2f}x less than VictoriaMetrics "
              f"(target > 1x: {'met' if ratio > 1 else 'not met'})")
    if os.environ.get("BENCH_KEEP"):
        print(f"kept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
