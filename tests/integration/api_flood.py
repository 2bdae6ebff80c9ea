#!/usr/bin/env python3
"""api_flood.py - 100 concurrent clients send mixed API requests to prom-server
for 30 s (issue 9's request flood).

  api_flood.py <source dir> <build dir> [seconds]

Data: 2,000 series over 6 h written by our TSDB (blocks and head), the server
scraping itself meanwhile, --query.max-concurrency=4.  The clients loop over
instant and range queries (rate, sums, topk, quantiles over time, regex
selectors), series, labels and label values.  Checks:

  - every answer is 200, or 503 "query timed out in query queue" (the queue
    doing its job); never a dropped connection;
  - prometheus_engine_queries, read from /metrics every 0.2 s, never exceeds
    4;
  - /-/healthy answers within 2 s throughout;
  - the server's RSS stays bounded: its peak under 400 MiB, and the last
    third of the flood adds less than 15% over the first third's peak (no
    growth per request);
  - the server keeps answering afterwards, and exits cleanly on SIGTERM.

Prints requests per second, latency percentiles and RSS figures (README).
"""
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Run, check, find_tool, free_port, http, main  # noqa: E402

CLIENTS = 100
MAX_CONCURRENCY = 4
SERIES = 2000
STEP = 15_000


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def body():
    build = sys.argv[2]
    seconds = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    tool = find_tool(build, "tsdb_db_tool")
    now = int(time.time()) * 1000 // STEP * STEP
    start = now - 6 * 3600_000
    with Run("api-flood") as run:
        data = os.path.join(run.tmp, "data")
        p = subprocess.run([tool, "write", data, str(SERIES), str(start), str(now), str(STEP),
                            "--compact"], capture_output=True, text=True)
        check(p.returncode == 0, f"wrote {SERIES} series over 6 h ({p.stderr.strip()[-200:]})")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cfg = os.path.join(run.tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write(f"global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n"
                    f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
        server = run.start("prom-server", [os.path.join(build, "bin", "prom-server"),
                                           f"--config.file={cfg}", f"--storage.tsdb.path={data}",
                                           f"--web.listen-address=127.0.0.1:{port}",
                                           f"--query.max-concurrency={MAX_CONCURRENCY}",
                                           "--query.timeout=20s"],
                           f"{url}/-/ready", timeout=60)
        t_end = now / 1000
        queries = [
            ("query", {"query": "rate(tsdb_test_metric[5m])", "time": t_end}),
            ("query", {"query": "sum by (group) (tsdb_test_metric)", "time": t_end - 3600}),
            ("query", {"query": "topk(5, tsdb_test_metric)", "time": t_end - 7200}),
            ("query", {"query": 'count({__name__=~"tsdb_.+", group=~"[0-3]"})', "time": t_end}),
            ("query", {"query": "quantile_over_time(0.9, tsdb_test_metric[30m])", "time": t_end}),
            ("query_range", {"query": "sum(rate(tsdb_test_metric[5m]))", "start": t_end - 3600,
                             "end": t_end, "step": 15}),
            ("query_range", {"query": "avg by (group) (tsdb_test_metric)",
                             "start": t_end - 6 * 3600, "end": t_end, "step": 60}),
            ("query_range", {"query": "rate(prometheus_http_requests_total[1m])",
                             "start": t_end - 300, "end": t_end + 60, "step": 5}),
            ("series", {"match[]": 'tsdb_test_metric{group="3"}'}),
            ("labels", {}),
            ("label/series/values", {}),
        ]
        stats = {"ok": 0, "queued": 0, "bad": [], "lat": []}
        lock = threading.Lock()
        stop = threading.Event()

        def client(seed):
            rng = random.Random(seed)
            while not stop.is_set():
                path, params = rng.choice(queries)
                t0 = time.time()
                status, text = http(f"{url}/api/v1/{path}?" + urllib.parse.urlencode(params),
                                    timeout=60)
                took = time.time() - t0
                with lock:
                    stats["lat"].append(took)
                    if status == 200:
                        stats["ok"] += 1
                    elif status == 503 and "query queue" in text:
                        stats["queued"] += 1
                    else:
                        stats["bad"].append((path, params, status, text[:200]))

        peak_queries, rss, health = 0, [], []

        def monitor():
            nonlocal peak_queries
            while not stop.is_set():
                t0 = time.time()
                status, _ = http(f"{url}/-/healthy", timeout=10)
                health.append((status, time.time() - t0))
                status, text = http(f"{url}/metrics", timeout=30)
                if status == 200:
                    for line in text.splitlines():
                        if line.startswith("prometheus_engine_queries "):
                            peak_queries = max(peak_queries, float(line.split()[1]))
                rss.append((time.time(), rss_kib(server.pid)))
                time.sleep(0.2)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        mon = threading.Thread(target=monitor)
        began = time.time()
        for t in threads:
            t.start()
        mon.start()
        time.sleep(seconds)
        stop.set()
        for t in threads:
            t.join()
        mon.join()
        elapsed = time.time() - began
        lat = sorted(stats["lat"])
        total = stats["ok"] + stats["queued"] + len(stats["bad"])
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
        third = [r for t, r in rss if t < began + seconds / 3]
        last = [r for t, r in rss if t > began + 2 * seconds / 3]
        print(f"flood: {total} requests in {elapsed:.1f} s ({total / elapsed:.0f}/s) from "
              f"{CLIENTS} clients; {stats['ok']} ok, {stats['queued']} timed out in the queue; "
              f"latency p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms; RSS peak "
              f"{max(r for _, r in rss) / 1024:.1f} MiB (first third {max(third) / 1024:.1f}, "
              f"last third {max(last) / 1024:.1f}); engine queries at most {peak_queries:.0f}")
        check(not stats["bad"], f"no failed request ({stats['bad'][:3]})")
        check(stats["ok"] > 100, f"{stats['ok']} requests answered")
        check(peak_queries <= MAX_CONCURRENCY,
              f"at most {MAX_CONCURRENCY} queries ran at once (saw {peak_queries:.0f})")
        slow = [d for s, d in health if s != 200 or d > 2]
        check(not slow, f"/-/healthy answered within 2 s all along ({len(health)} checks)")
        check(max(r for _, r in rss) < 400 * 1024, "RSS stayed under 400 MiB")
        check(max(last) < max(third) * 1.15 + 8 * 1024,
              "no growth from the first third of the flood to the last")
        status, text = http(f"{url}/api/v1/query?query=up")
        check(status == 200 and json.loads(text)["data"]["result"], "the server answers afterwards")
        run.stop(server)
        check(server.returncode == 0, f"a clean exit on SIGTERM ({server.returncode})")


if __name__ == "__main__":
    main(body)
