"""The measurements of bench/promql/run (see there); argv: bin dir, instances, hours, runs.

Query times sit 10 s after a multiple of 15 s and the generator puts every
sample 1 to 5 s after one (see gen_openmetrics.c), so no sample and no
subquery step lies on a window's edge: Prometheus 2.42's closed windows and
the 3.x left-open ones of our engine see the same samples.
"""
import http.client
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

END_MS = 1717200000000  # 2024-06-01T00:00:00Z: fixed, so every run has the same data
STEP_MS = 15000
BLOCK_MS = 2 * 3600 * 1000
RANGE_MS = 3600 * 1000
LOOKBEHIND_MS = 35 * 60 * 1000  # the longest range a query reads before its start
REL_TOL = 1e-6

QUERIES = [
    ("rate", 'rate(http_requests_total{job="api"}[5m])'),
    ("sum by rate", "sum by (job, code) (rate(http_requests_total[5m]))"),
    ("histogram_quantile",
     "histogram_quantile(0.9, sum by (job, le) (rate(http_request_duration_seconds_bucket[5m])))"),
    ("topk", 'topk(5, rate(node_cpu_seconds_total{mode!="idle"}[5m]))'),
    ("avg_over_time", "avg_over_time(temperature_celsius[10m])"),
    ("subquery", 'max_over_time(rate(http_requests_total{code="500"}[5m])[30m:1m])'),
    ("group_left join",
     "node_memory_usage_bytes * on (job, instance) group_left (team, version) node_info"),
    ("label_replace", 'label_replace(process_open_fds, "host", "$1", "instance", "(.*):.*")'),
    ("count by", "count by (job, mode) (rate(node_cpu_seconds_total[5m]) > 0.1)"),
    ("quantile_over_time", "quantile_over_time(0.95, queue_length[15m])"),
    ("predict_linear", "predict_linear(node_memory_usage_bytes[30m], 3600)"),
    ("binary op of aggregations",
     'sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))'
     " / sum by (job) (rate(http_requests_total[5m]))"),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_kb(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def timed(what, argv, log):
    t0 = time.monotonic()
    with open(log, "w") as f:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=f, text=True)
    elapsed = time.monotonic() - t0
    if p.returncode != 0:
        sys.stdout.write(open(log).read()[-3000:])
        raise SystemExit(f"bench: {what} exited {p.returncode}")
    print(f"{what}: {elapsed:.1f} s")
    return p.stdout


def window(first_ms, hours):
    """(start, end) of the queries: 1 h across a block boundary when the data
    allows, else the last hour (or less) with LOOKBEHIND_MS of data before it."""
    data_end = first_ms + int(hours * 3600 * 1000) - STEP_MS
    b = (data_end - RANGE_MS // 2) // BLOCK_MS * BLOCK_MS
    if b - RANGE_MS // 2 - LOOKBEHIND_MS >= first_ms and b > first_ms:
        start = b - RANGE_MS // 2
    else:
        start = max(first_ms + LOOKBEHIND_MS, data_end - RANGE_MS)
    start = start // STEP_MS * STEP_MS + 10000
    end = min(start + RANGE_MS, (data_end - 10000) // STEP_MS * STEP_MS + 10000)
    if end <= start:
        raise SystemExit(f"bench: {hours} h of data is too short (need > 40 min)")
    return start, end


def start_prometheus(tmp, data, binary="prometheus", name="prometheus"):
    """Starts Debian's prometheus (or our prom-server with the same flags)."""
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
    port = free_port()
    log = open(os.path.join(tmp, name + ".log"), "w")
    p = subprocess.Popen([binary, f"--config.file={cfg}", f"--storage.tsdb.path={data}",
                          f"--web.listen-address=127.0.0.1:{port}",
                          "--storage.tsdb.retention.time=100y",
                          "--storage.tsdb.min-block-duration=2h",
                          "--storage.tsdb.max-block-duration=2h"],
                         stdout=log, stderr=log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if p.poll() is not None:
            break
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/-/ready")
            if c.getresponse().status == 200:
                return p, port
        except OSError:
            pass
        time.sleep(0.2)
    p.kill()
    p.wait()
    sys.stdout.write(open(log.name).read()[-3000:])
    raise SystemExit(f"bench: {name} did not become ready")


def prom_get(conn, path, params):
    conn.request("GET", path + "?" + urllib.parse.urlencode(params))
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise SystemExit(f"bench: prometheus answered {r.status} to {params}: {body[:300]!r}")
    return body


def run_prometheus(port, start, end, runs):
    """[(best ms, median ms, data)] per query, over one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    out = []
    for _, q in QUERIES:
        params = {"query": q, "start": f"{start / 1000:.3f}", "end": f"{end / 1000:.3f}",
                  "step": f"{STEP_MS / 1000:g}"}
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            body = prom_get(conn, "/api/v1/query_range", params)
            times.append((time.perf_counter() - t0) * 1000)
        doc = json.loads(body)
        if doc.get("status") != "success":
            raise SystemExit(f"bench: prometheus failed {q}: {doc}")
        out.append((min(times), statistics.median(times), doc["data"]))
    return out


def run_ours(bindir, data, start, end, runs, tmp):
    results = os.path.join(tmp, "ours.jsonl")
    stdout = timed("our engine (bench-promql)",
                   [os.path.join(bindir, "bench-promql"), "-n", str(runs), "-o", results, data,
                    str(start), str(end), str(STEP_MS)] + [q for _, q in QUERIES],
                   os.path.join(tmp, "bench-promql.log"))
    rows, peak = [], 0
    for line in stdout.splitlines():
        f = line.split("\t")
        if f[0] == "query":
            rows.append({"eval": float(f[2]), "eval_med": float(f[3]), "best": float(f[4]),
                         "median": float(f[5]), "error": f[8] != "-", "peak": int(f[9])})
        elif f[0] == "peak-rss-kb":
            peak = int(f[1])
        elif f[0] == "rss-kb":
            print(f"  ours at the end: RssAnon {int(f[1]) / 1024:.1f} MiB, "
                  f"RssFile {int(f[2]) / 1024:.1f} MiB")
    with open(results) as f:
        data_lines = [json.loads(line) for line in f]
    for row, d in zip(rows, data_lines):
        row["data"] = d
    if len(rows) != len(QUERIES):
        raise SystemExit(f"bench: bench-promql answered {len(rows)} of {len(QUERIES)} queries")
    return rows, peak


def series_map(data):
    out = {}
    for s in data.get("result", []):
        key = tuple(sorted(s["metric"].items()))
        out[key] = [(round(float(t) * 1000), float(v)) for t, v in s.get("values", [])]
    return out


def close(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= REL_TOL * max(abs(a), abs(b))


def labels_text(key):
    return "{" + ", ".join(f'{k}="{v}"' for k, v in key) + "}"


def compare(ours, theirs):
    """(equal, [difference lines]) between our data object and prometheus's."""
    if "error" in ours:
        return False, [f"ours failed: {ours['error']}"]
    a, b = series_map(ours), series_map(theirs)
    diffs = []
    for key in sorted(set(b) - set(a))[:3]:
        diffs.append(f"missing series {labels_text(key)}")
    for key in sorted(set(a) - set(b))[:3]:
        diffs.append(f"extra series {labels_text(key)}")
    if set(a) != set(b):
        diffs.append(f"{len(set(b) - set(a))} series missing, {len(set(a) - set(b))} extra "
                     f"(prometheus {len(b)}, ours {len(a)})")
    bad = 0
    for key in sorted(set(a) & set(b)):
        pa, pb = dict(a[key]), dict(b[key])
        for t in sorted(set(pa) | set(pb)):
            if t in pa and t in pb and close(pa[t], pb[t]):
                continue
            bad += 1
            if bad <= 5:
                diffs.append(f"{labels_text(key)} @ {t / 1000:.3f}: prometheus "
                             f"{pb.get(t, 'no point')!r}, ours {pa.get(t, 'no point')!r}")
    if bad:
        diffs.append(f"{bad} points differ")
    if not a and not b:
        diffs.append("both results are empty: the query selects nothing")
    return not diffs, diffs


def main():
    bindir, instances, hours, runs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(
        sys.argv[4])
    tmp = tempfile.mkdtemp(prefix="bench-promql-")
    prom = server = None
    try:
        om = os.path.join(tmp, "data.om")
        gen = timed(f"generate {instances * 100} series over {hours:g} h (OpenMetrics)",
                    [os.path.join(bindir, "bench-promql-gen"), om, str(END_MS), str(instances),
                     str(hours)], os.path.join(tmp, "gen.log"))
        fields = gen.split()
        first_ms = int(fields[fields.index("first-ms") + 1])
        print(f"  {os.path.getsize(om) / 1e6:.0f} MB, {fields[fields.index('samples') + 1]} "
              "samples")
        data = os.path.join(tmp, "data")
        peer_data = os.path.join(tmp, "peer-data")
        # Each side reads the blocks its own backfill wrote from the same file.
        timed("backfill with Debian's promtool (prometheus reads these blocks)",
              ["promtool", "tsdb", "create-blocks-from", "openmetrics", om, peer_data],
              os.path.join(tmp, "promtool.log"))
        timed("backfill with our prom-tool (prom-server and the in-process engine read these)",
              [os.path.join(bindir, "prom-tool"), "tsdb", "create-blocks-from", "openmetrics",
               "-q", om, data], os.path.join(tmp, "prom-tool.log"))
        os.unlink(om)
        t0 = time.monotonic()
        prom, port = start_prometheus(tmp, peer_data)
        print(f"prometheus ready on 127.0.0.1:{port} in {time.monotonic() - t0:.1f} s")

        start, end = window(first_ms, hours)
        print(f"queries: {start / 1000:.3f} to {end / 1000:.3f} ({(end - start) / 60000:.0f} min)"
              f", step {STEP_MS // 1000} s, {runs} runs each")
        ours, ours_peak = run_ours(bindir, data, start, end, runs, tmp)
        # The same queries against prom-server over HTTP, on a copy of our blocks.
        server_data = os.path.join(tmp, "server-data")
        shutil.copytree(data, server_data)
        server, sport = start_prometheus(tmp, server_data, os.path.join(bindir, "prom-server"),
                                         "prom-server")
        t0 = time.monotonic()
        ours_http = run_prometheus(sport, start, end, runs)
        print(f"prom-server: {time.monotonic() - t0:.1f} s")
        server_peak = status_kb(server.pid, "VmHWM")
        t0 = time.monotonic()
        theirs = run_prometheus(port, start, end, runs)
        print(f"prometheus: {time.monotonic() - t0:.1f} s")
        prom_peak = status_kb(prom.pid, "VmHWM")
        print(f"  prometheus at the end: RssAnon {status_kb(prom.pid, 'RssAnon') / 1024:.1f} MiB, "
              f"RssFile {status_kb(prom.pid, 'RssFile') / 1024:.1f} MiB")

        print()
        print(f"{'#':>2} {'query':<26} {'ours eval':>9} {'ours HTTP':>15} {'Prometheus':>15} "
              f"{'ratio':>6} {'ratio':>6} {'series':>6} {'ours':>7} equal")
        print(f"{'':>2} {'':<26} {'best ms':>9} {'best / median':>15} {'best / median':>15} "
              f"{'HTTP':>6} {'eval':>6} {'':>6} {'MiB':>7}")
        all_equal, notes = True, []
        ratios, ratios_eval = [], []
        for i, ((name, q), o, (hbest, hmed, hdata), (pbest, pmed, pdata)) in enumerate(
                zip(QUERIES, ours, ours_http, theirs)):
            equal, diffs = compare(o["data"], pdata)
            equal_http, diffs_http = compare(hdata, pdata)
            equal &= equal_http
            all_equal &= equal
            ratio = pbest / hbest if hbest > 0 else float("inf")
            ratio_eval = pbest / o["eval"] if o["eval"] > 0 else float("inf")
            ratios.append(ratio)
            ratios_eval.append(ratio_eval)
            nseries = len(pdata.get("result", []))
            print(f"{i + 1:>2} {name:<26} {o['eval']:>9.1f} {hbest:>6.1f} / {hmed:<6.1f}"
                  f" {pbest:>6.1f} / {pmed:<6.1f} {ratio:>5.2f}x {ratio_eval:>5.2f}x {nseries:>6} "
                  f"{o['peak'] / 1024:>7.1f} "
                  f"{'yes' if equal else 'NO'}")
            if not equal:
                notes.append((i + 1, q, diffs + diffs_http))
        gmean = lambda v: math.exp(sum(map(math.log, v)) / len(v))  # noqa: E731
        print(f"{'':>2} {'geometric mean':<26} {'':>9} {'':>15} {'':>15} {gmean(ratios):>5.2f}x "
              f"{gmean(ratios_eval):>5.2f}x")
        print("ours MiB: VmHWM of bench-promql over that query's runs alone (see bench_promql.c)")
        print(f"\npeak RSS (VmHWM): prom-server {server_peak / 1024:.1f} MiB, prometheus "
              f"{prom_peak / 1024:.1f} MiB ({prom_peak / max(server_peak, 1):.2f}x); the "
              f"in-process engine {ours_peak / 1024:.1f} MiB")
        print("ratio HTTP: Prometheus best / prom-server best over HTTP (target >= 2x); ratio eval:\n"
              "Prometheus best / our engine's parse and evaluation in-process.  Both servers\n"
              "answer /api/v1/query_range on loopback over one keep-alive connection.")
        print("\nqueries:")
        for i, (_, q) in enumerate(QUERIES):
            print(f"{i + 1:>2} {q}")
        for n, q, diffs in notes:
            print(f"\nquery {n} differs: {q}")
            for d in diffs:
                print(f"  {d}")
        if not all_equal:
            print("\nbench: results differ")
            return 1
        return 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if prom is not None:
            prom.terminate()
            try:
                prom.wait(timeout=30)
            except subprocess.TimeoutExpired:
                prom.kill()
                prom.wait()
        if os.environ.get("PQL_BENCH_KEEP"):
            print(f"work directory kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
