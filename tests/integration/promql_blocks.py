#!/usr/bin/env python3
"""promql_blocks.py - PromQL over TSDB blocks: our querier (server/tsdb/
querier.c) and engine through pql_tsdb_storage against Debian's prometheus
(2.42) serving the same blocks.

  promql_blocks.py <source dir> <build dir>

Generates OpenMetrics data (counters with a reset, gauges; a few dozen series
over 2 h at 15 s, timestamps jittered), has `promtool tsdb create-blocks-from
openmetrics` build blocks from it (more than one, so series are merged across
blocks), starts prometheus on a copy of that directory with no scrape jobs,
and compares instant queries at a few times between promql_query and
/api/v1/query: the same result type and label sets, values within 1e-9
relative.  Query times fall between samples, so the 2.x peer's closed range
windows and our 3.x left-open ones select the same samples.

Every process started is stopped by pid; logs are printed on failure.
"""
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Run, check, free_port, http, main  # noqa: E402

STEP_MS = 15_000
SAMPLES = 2 * 3600 * 1000 // STEP_MS  # 2 h
JITTER_MS = 2_000

QUERIES = [
    "rate(http_requests_total[5m])",
    "sum by (job) (rate(http_requests_total[5m]))",
    "avg_over_time(temperature_celsius[10m])",
    "max(temperature_celsius)",
    "count by (region) (temperature_celsius)",
    'temperature_celsius{instance=~"host-[0-3]"}',
    'http_requests_total{job!="api"}',
    'http_requests_total{code!~"5.."}',
    'sum by (job) (http_requests_total) / on (job) sum by (job) (http_requests_total{code="200"})',
    'increase(http_requests_total{job="api", code=~"2..|4.."}[15m])',
    'max_over_time(temperature_celsius{region="eu"}[30m]) - min_over_time(temperature_celsius[30m])',
    '{__name__=~"temp.*", region!="us"}',
    'count(http_requests_total{missing=""})',
    'temperature_celsius{region=~"", instance!~"host-2.*"}',
]


def find_tool(build):
    for sub in ("tests", "bin"):
        path = os.path.join(build, sub, "promql_query")
        if os.path.exists(path):
            return path
    raise AssertionError(f"promql_query not found under {build}")


def gen_series(rng, base):
    """{(family, name, labels text): [(t ms, value)]}."""
    series = {}
    for job in ("api", "web", "batch"):
        for inst in range(3):
            for code in ("200", "404", "500"):
                v = 0.0
                samples = []
                reset = rng.randrange(SAMPLES) if rng.random() < 0.3 else -1
                for k in range(SAMPLES):
                    v = 0.0 if k == reset else v + rng.randrange(0, 50) + rng.random()
                    samples.append((base + k * STEP_MS + rng.randrange(-JITTER_MS, JITTER_MS),
                                    round(v, 3)))
                labels = f'job="{job}",instance="host-{inst}",code="{code}"'
                series[("http_requests", "http_requests_total", labels)] = samples
    for i in range(12):
        region = ("eu", "us", "ap")[i % 3]
        labels = f'instance="host-{i}",region="{region}"'
        if i == 11:
            labels = f'instance="host-{i}"'  # no region label
        samples = [(base + k * STEP_MS + rng.randrange(-JITTER_MS, JITTER_MS),
                    round(20 + 10 * math.sin(k / 50 + i) + rng.uniform(-1, 1), 4))
                   for k in range(SAMPLES)]
        series[("temperature_celsius", "temperature_celsius", labels)] = samples
    return series


def write_openmetrics(path, series):
    types = {"http_requests": "counter", "temperature_celsius": "gauge"}
    with open(path, "w") as f:
        for fam in sorted({k[0] for k in series}):
            f.write(f"# TYPE {fam} {types[fam]}\n")
            for (family, name, labels), samples in series.items():
                if family != fam:
                    continue
                for t, v in samples:
                    f.write(f"{name}{{{labels}}} {v!r} {t // 1000}.{t % 1000:03d}\n")
        f.write("# EOF\n")


def norm(data):
    """(resultType, {labels tuple: [values]}) from an API-shaped result."""
    kind = data["resultType"]
    if kind == "scalar":
        return kind, {(): [float(data["result"][1])]}
    out = {}
    for s in data["result"]:
        key = tuple(sorted(s["metric"].items()))
        pts = [s["value"]] if kind == "vector" else s["values"]
        out[key] = [(float(p[0]), float(p[1])) for p in pts]
    return kind, out


def close(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))


def same(ours, theirs):
    if ours[0] != theirs[0] or set(ours[1]) != set(theirs[1]):
        return False
    for key, pts in ours[1].items():
        other = theirs[1][key]
        if len(pts) != len(other):
            return False
        for p, q in zip(pts, other):
            if isinstance(p, tuple):
                if abs(p[0] - q[0]) > 1e-6 or not close(p[1], q[1]):
                    return False
            elif not close(p, q):
                return False
    return True


def compare(tool, data, url, times, what):
    """Runs every query at every time with promql_query over `data` and
    against prometheus; returns how many were compared (all must match)."""
    total = 0
    for t in times:
        p = subprocess.run([tool, data, str(t), *QUERIES], capture_output=True, text=True)
        check(p.returncode == 0, f"promql_query at {t}{what} ({p.stderr.strip()[:300]})")
        lines = p.stdout.splitlines()
        check(len(lines) == len(QUERIES), f"promql_query answered {len(lines)} queries")
        for q, line in zip(QUERIES, lines):
            ours = json.loads(line)
            check("error" not in ours, f"{q} @ {t}{what}: no error ({ours.get('error')})")
            qs = urllib.parse.urlencode({"query": q, "time": f"{t / 1000:.3f}"})
            status, text = http(f"{url}/api/v1/query?{qs}")
            check(status == 200, f"prometheus answers {q} @ {t}{what} ({text[:200]})")
            a, b = norm(ours), norm(json.loads(text)["data"])
            ok = same(a, b)
            check(ok and len(a[1]) > 0,
                  f"{q} @ {t}{what}: {len(a[1])} series, as prometheus's"
                  + ("" if ok else f"\n  ours:   {line[:600]}\n  theirs: {text[:600]}"))
            total += 1
    return total


def body():
    build = sys.argv[2]
    tool = find_tool(build)
    base = (int(time.time()) - 3 * 3600) // 60 * 60 * 1000
    with Run("promql-blocks") as run:
        series = gen_series(random.Random(20240611), base)
        om = os.path.join(run.tmp, "input.om")
        write_openmetrics(om, series)
        data = os.path.join(run.tmp, "data")
        p = run.start("promtool", ["promtool", "tsdb", "create-blocks-from", "openmetrics", om,
                                   data])
        rc = p.wait()
        run.stop(p)
        check(rc == 0, f"promtool create-blocks-from openmetrics exited {rc}")
        blocks = [b for b in os.listdir(data)
                  if os.path.isfile(os.path.join(data, b, "meta.json"))]
        check(len(blocks) >= 2, f"promtool made {len(blocks)} blocks from {len(series)} series")

        peer_data = os.path.join(run.tmp, "peer-data")
        shutil.copytree(data, peer_data)
        cfg = os.path.join(run.tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1h\n")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        run.start("prometheus", ["prometheus", f"--config.file={cfg}",
                                 f"--storage.tsdb.path={peer_data}",
                                 f"--web.listen-address=127.0.0.1:{port}",
                                 "--web.enable-admin-api"],
                  f"{url}/-/ready", timeout=60)

        metas = [json.load(open(os.path.join(data, b, "meta.json"))) for b in blocks]
        boundary = min(m["maxTime"] for m in metas)

        def between(ms):  # the first time after ms between two samples
            k = -(-(ms - base) // STEP_MS)
            return base + k * STEP_MS + STEP_MS // 2 + 321

        # Spread over both blocks; one whose windows cross the boundary.
        times = sorted({between(base + 10 * 60_000), between(base + 57 * 60_000),
                        between(boundary + 2 * 60_000), between(base + 117 * 60_000)})
        total = compare(tool, data, url, times, "")

        # Tombstones: delete parts of some series through the admin API, then
        # read a snapshot of the peer's blocks (hard links, tombstones files
        # included) so that its compactions cannot move blocks under us.
        # (A whole series, and a range across the block boundary.  A range
        # that starts inside a chunk and covers later chunks of the same block
        # is left out: there the 2.42 peer returned some deleted samples to a
        # range selector reaching before it - 20 min deleted under [30m] -
        # where ours drops them all.)
        deletes = [('temperature_celsius{instance="host-0"}', None, None),
                   ('http_requests_total{job="web",code="200"}', boundary - 10 * 60_000,
                    boundary + 10 * 60_000)]
        for match, start, end in deletes:
            args = {"match[]": match}
            if start is not None:
                args.update(start=f"{start / 1000:.3f}", end=f"{end / 1000:.3f}")
            qs = urllib.parse.urlencode(args)
            status, text = http(f"{url}/api/v1/admin/tsdb/delete_series?{qs}", data=b"",
                                method="POST")
            check(status == 204, f"prometheus deletes {match} ({status} {text[:200]})")
        status, text = http(f"{url}/api/v1/admin/tsdb/snapshot", data=b"", method="POST")
        check(status == 200, f"prometheus snapshots its blocks ({text[:200]})")
        snap = os.path.join(peer_data, "snapshots", json.loads(text)["data"]["name"])
        stones = sum(os.path.getsize(os.path.join(snap, b, "tombstones")) > 9
                     for b in os.listdir(snap))
        check(stones >= 1, f"the snapshot holds {stones} blocks with tombstones")
        total += compare(tool, snap, url, times, " (after deletes)")
        check(True, f"{total}/{total} query results match prometheus")
    print("PASS")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    main(body)
