#!/usr/bin/env python3
"""api_diff.py - prom-server's /api/v1 against Debian's prometheus (2.42),
request by request, over the same data.

  api_diff.py <source dir> <build dir>

One OpenMetrics file (counters with resets, gauges, a classic histogram, a
summary, NaN/Inf/-0 values, label values that need escaping, a series that
stops half way; about 300 series over 4 h at 30 s) is backfilled with
`promtool tsdb create-blocks-from openmetrics`; the blocks are copied, and
Debian's prometheus serves one copy (no scrape jobs, retention 100y so it
keeps the old blocks, blocks never compacted past 2h so both sides have the
same block boundaries) while prom-server serves the other.  The same
requests go to both - every endpoint, every result type, GET and POST,
parameter and query errors, the 11,000-point limit, the sample limit - and
the answers are compared as JSON after normalising only float formatting
(1e-9 relative) and, for the status endpoints, what describes the process
itself.  The count of identical answers is printed, then every request
whose answer differs with the reason.

Sample timestamps end in 5 ms and query times in 1 ms, so no sample ever
sits on a window's edge: Prometheus 3.x (which ours follows) selects
(t - range, t] where 2.x selects [t - range, t], and the two agree then.

Each request has a mode saying what must agree:
  exact   the whole answer (status and normalised JSON);
  error   both fail with the same status and errorType; the message may
          differ where 3.x reworded 2.42's (listed with the request);
  limit   the `limit` parameter is 3.x's: 2.42 ignores it, so its answer
          is cut to `limit` entries (with 3.x's "results truncated" warning
          when something was cut) before the comparison;
  status  the status endpoints: keys, and the values that do not describe
          the process (flag values, retention);
  ours    what 2.42 lacks (parse_query, lookback_delta, U__ names): ours
          alone is checked for the expected status;
  known   a difference of ours from 3.x, listed and left to fix (the note
          says which).
The test fails when an exact, limit or status request differs, or an error
request differs in status or errorType.
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

STEP_MS = 30_000
HOURS = 4
SAMPLES = HOURS * 3600 * 1000 // STEP_MS
MAX_SAMPLES = 40000  # --query.max-samples on both sides

# ---- Data


def jitter(rng):
    """Sample offsets end in 5 ms (see the module comment)."""
    return rng.randrange(0, 200) * 10 + 5


def om_value(v):
    if isinstance(v, str):
        return v
    return repr(float(v))


def gen(base, rng):
    """[(family, type, [(sample name, labels dict, [(t ms, value)])])]."""
    fams = []
    # Counters with a few resets.
    series = []
    for job in ("api", "web", "batch"):
        for inst in range(6):
            for code in ("200", "404", "500"):
                for method in ("GET", "POST"):
                    v, pts = 0.0, []
                    reset = rng.randrange(SAMPLES) if rng.random() < 0.2 else -1
                    for k in range(SAMPLES):
                        v = 0.0 if k == reset else v + rng.randrange(0, 40) + rng.random()
                        pts.append((base + k * STEP_MS + jitter(rng), round(v, 3)))
                    series.append(("http_requests_total",
                                   {"job": job, "instance": f"host-{inst}", "code": code,
                                    "method": method}, pts))
    fams.append(("http_requests", "counter", series))
    # A classic histogram: every bucket of one histogram at the same times,
    # so rates stay monotonic across buckets.
    bounds = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf"]
    series = []
    for job in ("api", "web"):
        for inst in range(6):
            counts = [0] * len(bounds)
            total = 0.0
            rows = {b: [] for b in bounds}
            sums, cnts = [], []
            for k in range(SAMPLES):
                t = base + k * STEP_MS + jitter(rng)
                for _ in range(rng.randrange(0, 30)):
                    d = rng.expovariate(2.0)
                    total += d
                    for i, b in enumerate(bounds):
                        if b == "+Inf" or d <= float(b):
                            counts[i] += 1
                for i, b in enumerate(bounds):
                    rows[b].append((t, counts[i]))
                sums.append((t, round(total, 6)))
                cnts.append((t, counts[-1]))
            lab = {"job": job, "instance": f"host-{inst}"}
            for b in bounds:
                series.append(("http_request_duration_seconds_bucket", dict(lab, le=b), rows[b]))
            series.append(("http_request_duration_seconds_sum", lab, sums))
            series.append(("http_request_duration_seconds_count", lab, cnts))
    fams.append(("http_request_duration_seconds", "histogram", series))
    # Gauges.
    series = []
    for i in range(12):
        pts = [(base + k * STEP_MS + jitter(rng),
                round(20 + 10 * math.sin(k / 40 + i) + rng.uniform(-1, 1), 4))
               for k in range(SAMPLES)]
        series.append(("node_temperature_celsius",
                       {"instance": f"host-{i}", "zone": ("eu", "us", "ap")[i % 3]}, pts))
    fams.append(("node_temperature_celsius", "gauge", series))
    series = []
    for i in range(12):
        for kind in ("used", "free"):
            pts = [(base + k * STEP_MS + jitter(rng), float(rng.randrange(10**9, 10**11)))
                   for k in range(SAMPLES)]
            series.append(("memory_bytes", {"instance": f"host-{i}", "kind": kind}, pts))
    fams.append(("memory_bytes", "gauge", series))
    series = []
    for i in range(4):
        pts = [(base + k * STEP_MS + jitter(rng), rng.uniform(1e-9, 1e-7))
               for k in range(SAMPLES)]
        series.append(("tiny_ratio", {"instance": f"host-{i}"}, pts))
    fams.append(("tiny_ratio", "gauge", series))
    series = []
    for case, v in (("nan", "NaN"), ("inf", "+Inf"), ("neginf", "-Inf"), ("zero", "0"),
                    ("negzero", "-0"), ("big", "1.5e300"), ("small", "-2.5e-300")):
        pts = [(base + k * STEP_MS + jitter(rng), v) for k in range(SAMPLES)]
        series.append(("special_values", {"case": case}, pts))
    fams.append(("special_values", "gauge", series))
    series = []
    for i, v in enumerate(("a<b>&c", "caf\u00e9 \u00fc", 'quote"back\\slash', "new\nline",
                           "\u2028sep")):
        pts = [(base + k * STEP_MS + jitter(rng), i) for k in range(SAMPLES)]
        series.append(("weird_labels", {"v": v}, pts))
    fams.append(("weird_labels", "gauge", series))
    series = []
    for job in ("nightly", "hourly", "weekly"):
        pts = [(base + k * STEP_MS + jitter(rng), base // 1000 + k * 30)
               for k in range(SAMPLES // 2)]
        series.append(("batch_last_success_timestamp_seconds", {"job": job}, pts))
    fams.append(("batch_last_success_timestamp_seconds", "gauge", series))
    series = []
    total, count = 0.0, 0
    q = {"0.5": [], "0.9": [], "0.99": []}
    sums, cnts = [], []
    for k in range(SAMPLES):
        t = base + k * STEP_MS + jitter(rng)
        count += 10
        total += rng.uniform(1, 5)
        q["0.5"].append((t, rng.uniform(0.1, 0.2)))
        q["0.9"].append((t, rng.uniform(0.3, 0.5)))
        q["0.99"].append((t, rng.uniform(0.6, 1.2)))
        sums.append((t, round(total, 6)))
        cnts.append((t, count))
    for quant, pts in q.items():
        series.append(("rpc_duration_seconds", {"quantile": quant}, pts))
    series.append(("rpc_duration_seconds_sum", {}, sums))
    series.append(("rpc_duration_seconds_count", {}, cnts))
    fams.append(("rpc_duration_seconds", "summary", series))
    return fams


def om_labels(lab):
    if not lab:
        return ""
    esc = lambda s: s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in lab.items()) + "}"


def write_openmetrics(path, fams):
    n = 0
    with open(path, "w") as f:
        for fam, typ, series in fams:
            f.write(f"# TYPE {fam} {typ}\n")
            for name, lab, pts in series:
                n += 1
                ls = om_labels(lab)
                for t, v in pts:
                    f.write(f"{name}{ls} {om_value(v)} {t // 1000}.{t % 1000:03d}\n")
        f.write("# EOF\n")
    return n


# ---- Requests


class Req:
    def __init__(self, path, params=None, mode="exact", method="GET", note="", expect=200):
        self.path, self.params, self.mode = path, params or [], mode
        self.method, self.note, self.expect = method, note, expect

    def label(self):
        qs = urllib.parse.urlencode(self.params)
        return f"{self.method} {self.path}" + (f"?{qs}" if qs else "")


def secs(ms):
    return f"{ms // 1000}.{ms % 1000:03d}"


def build_requests(base):
    """The request list; times are base + offsets ending in 1 ms."""
    t1 = base + 67 * 60_000 + 321
    t2 = base + 150 * 60_000 + 771
    t3 = base + 235 * 60_000 + 131  # the batch series stopped 2 h before
    late = base + 5 * 3600_000 + 11  # past the data
    times = [t1, t2, t3]
    reqs = []

    instant = [
        "http_requests_total",
        'http_requests_total{job="api",code=~"5.."}',
        'http_requests_total{method!="GET",instance=~"host-[0-2]"}',
        "rate(http_requests_total[5m])",
        "sum by (job) (rate(http_requests_total[5m]))",
        "sum by (job, code) (increase(http_requests_total[1h]))",
        'irate(http_requests_total{instance="host-1"}[5m])',
        "topk(3, rate(http_requests_total[10m]))",
        "bottomk(2, node_temperature_celsius)",
        "avg_over_time(node_temperature_celsius[15m])",
        "max by (zone) (node_temperature_celsius)",
        "quantile(0.9, node_temperature_celsius)",
        'count_values("value", weird_labels)',
        "histogram_quantile(0.9, sum by (le, job) (rate(http_request_duration_seconds_bucket[5m])))",
        'histogram_quantile(0.5, rate(http_request_duration_seconds_bucket{instance="host-0"}[10m]))',
        "rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])",
        'memory_bytes{kind="used"} / ignoring (kind) memory_bytes{kind="free"}',
        "memory_bytes * 1e12",
        "tiny_ratio",
        "tiny_ratio * 100",
        "special_values",
        "-special_values",
        "special_values * 0",
        "weird_labels",
        'label_replace(node_temperature_celsius, "host", "$1", "instance", "host-(.*)")',
        'label_join(node_temperature_celsius, "both", "/", "instance", "zone")',
        "batch_last_success_timestamp_seconds",
        "absent(nonexistent_metric)",
        "absent(node_temperature_celsius)",
        "vector(1)",
        "scalar(sum(memory_bytes))",
        "time()",
        "42",
        '"a string"',
        "1 / 0",
        "-1 / 0",
        "0 / 0",
        'node_temperature_celsius{instance="host-3"}[5m]',
        'rate(http_requests_total{job="web",code="200"}[5m])[30m:5m]',
        'max_over_time(rate(http_requests_total{job="web"}[5m])[30m:1m])',
        "node_temperature_celsius offset 1h",
        "delta(node_temperature_celsius[30m])",
        "deriv(node_temperature_celsius[30m])",
        "predict_linear(node_temperature_celsius[30m], 3600)",
        "changes(node_temperature_celsius[10m])",
        "resets(http_requests_total[1h])",
        "sort_desc(sum by (instance) (rate(http_requests_total[5m])))",
        "sort(node_temperature_celsius)",
        "clamp_max(node_temperature_celsius, 20)",
        "round(node_temperature_celsius, 0.1)",
        "node_temperature_celsius > 20",
        "node_temperature_celsius > bool 20",
        'http_requests_total{code="200",method="GET"} and on (instance) node_temperature_celsius{zone="eu"}',
        'http_requests_total{job="api"} unless http_requests_total{code="200"}',
        "count by (code) (http_requests_total)",
        "stddev(node_temperature_celsius)",
        "stdvar by (zone) (node_temperature_celsius)",
        "group by (job) (http_requests_total)",
        'rpc_duration_seconds{quantile="0.99"}',
        'timestamp(node_temperature_celsius{instance="host-0"})',
        '{__name__=~"node_.*|tiny_.*"}',
        "count_over_time(http_requests_total[1h])",
        "sum(http_requests_total) without (instance, method)",
        "avg(memory_bytes) by (kind)",
        "ln(memory_bytes{instance=\"host-1\"})",
        "minute(timestamp(node_temperature_celsius{instance=\"host-2\"}))",
    ]
    for q in instant:
        for t in times:
            reqs.append(Req("/api/v1/query", [("query", q), ("time", secs(t))]))
    # the @ modifier, RFC3339 times, the past-the-data time
    reqs.append(Req("/api/v1/query", [("query", f"node_temperature_celsius @ {secs(t1)}"),
                                      ("time", secs(t3))]))
    rfc = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t2 // 1000)) + f".{t2 % 1000:03d}Z"
    reqs.append(Req("/api/v1/query", [("query", "sum(node_temperature_celsius)"), ("time", rfc)]))
    rfc_tz = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t2 // 1000 + 3600)) + \
        f".{t2 % 1000:03d}+01:00"
    reqs.append(Req("/api/v1/query", [("query", "sum(node_temperature_celsius)"),
                                      ("time", rfc_tz)]))
    reqs.append(Req("/api/v1/query", [("query", "node_temperature_celsius"),
                                      ("time", secs(late))]))
    # lookback_delta came after 2.42, which ignores it
    note = "lookback_delta is newer than 2.42, which ignores it"
    reqs.append(Req("/api/v1/query", [("query", "http_requests_total"), ("time", secs(t1)),
                                      ("lookback_delta", "10s")], mode="ours", note=note))
    reqs.append(Req("/api/v1/query", [("query", "http_requests_total"), ("time", secs(t1)),
                                      ("lookback_delta", "1")], mode="ours", note=note))
    reqs.append(Req("/api/v1/query", [("query", "up"), ("lookback_delta", "far")], mode="ours",
                    expect=400, note=note))
    reqs.append(Req("/api/v1/query", [("query", "http_requests_total"), ("time", secs(t1)),
                                      ("lookback_delta", "10m")]))
    reqs.append(Req("/api/v1/query", [("query", "node_temperature_celsius"),
                                      ("time", secs(t2)), ("timeout", "30s")]))
    # limit (3.x): 2.42 ignores it
    reqs.append(Req("/api/v1/query", [("query", "http_requests_total"), ("time", secs(t1)),
                                      ("limit", "5")], mode="limit"))
    reqs.append(Req("/api/v1/query", [("query", "vector(1)"), ("time", secs(t1)),
                                      ("limit", "5")], mode="limit"))
    # POST forms
    for q in ("sum by (job) (rate(http_requests_total[5m]))", "special_values"):
        reqs.append(Req("/api/v1/query", [("query", q), ("time", secs(t2))], method="POST"))

    ranges = [
        ('rate(http_requests_total{job="api",code="500"}[5m])', t1, t1 + 3600_000, "60"),
        ("sum by (job) (rate(http_requests_total[5m]))", t1, t1 + 1800_000, "15s"),
        ("1", t1, t1 + 600_000, "1m"),
        ("time()", t1, t1 + 300_000, "90.5"),
        ("node_temperature_celsius", t2, t2 + 3600_000, "5m"),
        ("histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
         t1, t1 + 3600_000, "2m"),
        ("special_values", t1, t1 + 120_000, "30s"),
        ("batch_last_success_timestamp_seconds", base + 100 * 60_000 + 1,
         base + 140 * 60_000 + 1, "5m"),
        ("tiny_ratio * 1e-3", t1, t1 + 600_000, "2m"),
        ("absent(nonexistent_metric)", t1, t1 + 300_000, "1m"),
        ("scalar(count(http_requests_total))", t2, t2 + 300_000, "1m"),
        ("max_over_time(node_temperature_celsius[10m])", t1, t3, "10m"),
        ("weird_labels", t2, t2 + 60_000, "30s"),
        ("node_temperature_celsius > 25", t1, t1 + 3600_000, "5m"),
        ("avg(rate(http_requests_total[5m] @ end()))", t1, t1 + 600_000, "5m"),
        ("node_temperature_celsius @ start()", t1, t1 + 600_000, "5m"),
    ]
    for q, s, e, step in ranges:
        reqs.append(Req("/api/v1/query_range",
                        [("query", q), ("start", secs(s)), ("end", secs(e)), ("step", step)]))
    reqs.append(Req("/api/v1/query_range",
                    [("query", "sum(memory_bytes)"), ("start", rfc), ("end", secs(t2 + 600_000)),
                     ("step", "1m")], method="POST"))
    reqs.append(Req("/api/v1/query_range",
                    [("query", "http_requests_total"), ("start", secs(t1)),
                     ("end", secs(t1 + 60_000)), ("step", "30"), ("limit", "3")], mode="limit"))
    # exactly 11,000 points is still fine
    reqs.append(Req("/api/v1/query_range",
                    [("query", "vector(1)"), ("start", secs(t1)), ("end", secs(t1 + 11000_000)),
                     ("step", "1")]))

    # Errors.  The parser's messages are 3.x's; where 2.42 words one
    # otherwise the request is in mode error (see the note).
    LOWER = "3.x writes 'invalid time value', 2.42 'Invalid time value'"
    RANGE_PREFIX = ("3.x reports query_range's query errors as invalid parameter \"query\", "
                    "2.42 bare")
    errors = [
        ("/api/v1/query", [("query", "foo(")], "exact", ""),
        ("/api/v1/query", [("query", "sum(")], "exact", ""),
        ("/api/v1/query", [("query", "rate(node_temperature_celsius)")], "exact", ""),
        ("/api/v1/query", [("query", "1 +")], "exact", ""),
        ("/api/v1/query", [("query", "x{a=}")], "exact", ""),
        ("/api/v1/query", [("query", "x[5m")], "exact", ""),
        ("/api/v1/query", [("query", "node_temperature_celsius[5m] + 1")], "exact", ""),
        ("/api/v1/query", [("query", '"a" + 1')], "exact", ""),
        ("/api/v1/query", [("query", "nonexistent_function(x)")], "exact", ""),
        ("/api/v1/query", [("query", "sum by (x)")], "known",
         "ours lacks the parser's ' in aggregation' (3.x's grammar has it as 2.42's)"),
        ("/api/v1/query", [("query", "{}")], "exact", ""),
        ("/api/v1/query", [], "error",
         "2.42 places the empty query at 1:1, 3.x at 'unknown position'"),
        ("/api/v1/query", [("query", "")], "error", "as above"),
        ("/api/v1/query", [("query", "up"), ("time", "yesterday")], "error", LOWER),
        ("/api/v1/query", [("query", "up"), ("timeout", "soon")], "exact", ""),
        ("/api/v1/query", [("query", "http_requests_total + ignoring (code) http_requests_total"),
                           ("time", secs(t1))], "error",
         "3.x sorts the two duplicate series it names; 2.42 names them as found"),
        ("/api/v1/query", [("query", "http_requests_total[4h]"), ("time", secs(t3))], "exact",
         ""),
        ("/api/v1/query", [("query", 'label_replace(node_temperature_celsius, "a", "$1", '
                                     '"zone", "(")'), ("time", secs(t1))], "exact", ""),
        ("/api/v1/query", [("query", 'up{job=~"("}')], "error",
         "regex errors: PCRE2's words here, Go regexp's there"),
        ("/api/v1/series", [("match[]", '{job=~"("}')], "error", "as above"),
        ("/api/v1/query", [("query", "node_temperature_celsius"), ("time", secs(t1)),
                           ("timeout", "0.000000001")], "error",
         "how far a query gets in 1 ns (queue or evaluation) is a race upstream"),
        ("/api/v1/query_range", [("query", "up"), ("end", "100"), ("step", "15")], "exact", ""),
        ("/api/v1/query_range", [("query", "up"), ("start", "100"), ("end", "abc"),
                                 ("step", "15")], "exact", ""),
        ("/api/v1/query_range", [("query", "up"), ("start", "200"), ("end", "100"),
                                 ("step", "15")], "exact", ""),
        ("/api/v1/query_range", [("query", "up"), ("start", "100"), ("end", "200")], "exact", ""),
        ("/api/v1/query_range", [("query", "up"), ("start", "100"), ("end", "200"),
                                 ("step", "0")], "exact", ""),
        ("/api/v1/query_range", [("query", "up"), ("start", "100"), ("end", "200"),
                                 ("step", "-5")], "exact", ""),
        ("/api/v1/query_range", [("query", "up"), ("start", "0"), ("end", "11001"),
                                 ("step", "1")], "exact", ""),
        ("/api/v1/query_range", [("query", "node_temperature_celsius[5m]"), ("start", "0"),
                                 ("end", "100"), ("step", "10")], "error", RANGE_PREFIX),
        ("/api/v1/query_range", [("query", '"str"'), ("start", "0"), ("end", "100"),
                                 ("step", "10")], "error", RANGE_PREFIX),
        ("/api/v1/query_range", [("query", "foo{"), ("start", "0"), ("end", "100"),
                                 ("step", "10")], "error", RANGE_PREFIX),
        ("/api/v1/query_range", [("query", "avg(rate(x[5m]) @ end())"), ("start", "0"),
                                 ("end", "100"), ("step", "10")], "error", RANGE_PREFIX),
    ]
    for path, params, mode, note in errors:
        reqs.append(Req(path, params, mode=mode, note=note))

    # Series.
    series = [
        [("match[]", "node_temperature_celsius")],
        [("match[]", 'http_requests_total{job="api",code="500"}')],
        [("match[]", '{__name__=~"http_request_duration_seconds_.*",instance="host-2",job="web"}')],
        [("match[]", "weird_labels")],
        [("match[]", "tiny_ratio"), ("match[]", 'memory_bytes{instance="host-0"}')],
        [("match[]", 'node_temperature_celsius{zone="eu"}'),
         ("match[]", 'node_temperature_celsius{instance="host-0"}')],
        [("match[]", "batch_last_success_timestamp_seconds"), ("start", secs(t3)),
         ("end", secs(late))],
        [("match[]", "batch_last_success_timestamp_seconds"), ("start", secs(t1)),
         ("end", secs(t2))],
        [("match[]", "node_temperature_celsius"), ("start", secs(late)),
         ("end", secs(late + 3600_000))],
        [("match[]", "nonexistent_metric")],
        [("match[]", "sum")],
        [("match[]", "special_values"), ("start", "1"), ("end", secs(late))],
    ]
    for params in series:
        reqs.append(Req("/api/v1/series", params))
    reqs.append(Req("/api/v1/series", [("match[]", "rpc_duration_seconds")], method="POST"))
    reqs.append(Req("/api/v1/series", [("match[]", "http_requests_total"), ("limit", "4")],
                    mode="limit"))
    for params in ([], [("match[]", "rate(x[5m])")], [("match[]", "x[5m]")],
                   [("match[]", "x offset 5m")], [("match[]", "1+1")], [("match[]", "up + 1")],
                   [("match[]", "")], [("match[]", '{a=""}')], [("match[]", "x{a=}")],
                   [("match[]", "up"), ("start", "x")], [("match[]", "up"), ("end", "y")]):
        bad_time = any(v in ("x", "y") for k, v in params if k in ("start", "end"))
        reqs.append(Req("/api/v1/series", params, mode="error" if bad_time else "exact",
                        note=LOWER if bad_time else ""))

    # Label names and values.
    for params in ([], [("match[]", "node_temperature_celsius")],
                   [("match[]", "tiny_ratio"), ("match[]", "rpc_duration_seconds")],
                   [("match[]", 'http_request_duration_seconds_bucket{le="+Inf"}')],
                   [("start", secs(late)), ("end", secs(late + 1000))],
                   [("start", secs(t1)), ("end", secs(t2))],
                   [("match[]", "up(")]):
        reqs.append(Req("/api/v1/labels", params))
    reqs.append(Req("/api/v1/labels", [("start", "x")], mode="error", note=LOWER))
    reqs.append(Req("/api/v1/labels", [("match[]", "weird_labels")], method="POST"))
    reqs.append(Req("/api/v1/labels", [("limit", "2")], mode="limit"))
    for name, params in (("job", []), ("instance", []), ("le", []), ("__name__", []),
                         ("quantile", []), ("v", []), ("nonexistent", []),
                         ("job", [("match[]", "batch_last_success_timestamp_seconds")]),
                         ("instance", [("match[]", 'node_temperature_celsius{zone="us"}'),
                                       ("match[]", "tiny_ratio")]),
                         ("__name__", [("start", secs(late)), ("end", secs(late + 1000))]),
                         ("job", [("match[]", "x{")]), ("%FF", [])):
        reqs.append(Req(f"/api/v1/label/{name}/values", params))
    reqs.append(Req("/api/v1/label/job/values", [("end", "x")], mode="error", note=LOWER))
    reqs.append(Req("/api/v1/label/__name__/values", [("limit", "3")], mode="limit"))
    reqs.append(Req("/api/v1/label/U__zo_6e_e/values", [], mode="ours",
                    note="3.x unescapes U__ names; 2.42 looks up a label called U__zo_6e_e"))

    # format_query (2.42 has it too, with the same prettifier).
    for q in ("sum(rate(x[5m]))", "  up{job='a'}  ", "sum by(job)(x) / ignoring(a) group_left y",
              "histogram_quantile(0.9, sum by (le, job, instance, method, code) (rate(http_request_duration_seconds_bucket{job=\"api\"}[5m])))",
              "-(a + b)", "x offset 5m @ 100", "rate(x[5m])[1h:1m]", "foo(", "1 + 2 * 3"):
        reqs.append(Req("/api/v1/format_query", [("query", q)]))
    reqs.append(Req("/api/v1/format_query", [("query", "topk(3, x)")], method="POST"))

    # parse_query: 3.x only.
    for q, want in (("sum by (job) (rate(x[5m]))", 200), ("a > bool on (b) c", 200),
                    ('"s"', 200), ("foo(", 400)):
        reqs.append(Req("/api/v1/parse_query", [("query", q)], mode="ours", expect=want,
                        note="parse_query is 3.x's; 2.42 answers 404"))

    # Status and the rest.
    for p in ("buildinfo", "flags", "runtimeinfo", "config"):
        reqs.append(Req(f"/api/v1/status/{p}", mode="status"))
    reqs.append(Req("/api/v1/nonexistent"))
    reqs.append(Req("/api/v1/status/nonexistent"))
    return reqs


# ---- Comparing


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def close(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))


def diff(a, b, path="$", unordered=False):
    """None when a and b agree (floats within 1e-9), else where they differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return f"{path}: keys {sorted(a)} vs {sorted(b)}"
        for k in a:
            d = diff(a[k], b[k], f"{path}.{k}", unordered)
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} entries"
        if unordered:
            key = lambda x: json.dumps(x, sort_keys=True)
            a, b = sorted(a, key=key), sorted(b, key=key)
        for i, (x, y) in enumerate(zip(a, b)):
            d = diff(x, y, f"{path}[{i}]", unordered)
            if d:
                return d
        return None
    if isinstance(a, bool) or isinstance(b, bool):
        return None if a == b else f"{path}: {a!r} vs {b!r}"
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return None if close(float(a), float(b)) else f"{path}: {a!r} vs {b!r}"
    if isinstance(a, str) and isinstance(b, str):
        if a == b:
            return None
        x, y = num(a), num(b)
        if x is not None and y is not None and close(x, y):
            return None
        return f"{path}: {a!r} vs {b!r}"
    return None if a == b else f"{path}: {a!r} vs {b!r}"


def unordered_vector(req, doc):
    """Instant vectors come in evaluation order; upstream's order is not the
    API's contract except for sort functions, so vectors compare as sets
    unless the query sorts."""
    q = dict(req.params).get("query", "")
    data = doc.get("data") if isinstance(doc, dict) else None
    return (isinstance(data, dict) and data.get("resultType") == "vector"
            and "sort" not in q and "topk" not in q and "bottomk" not in q)


def parse(body):
    try:
        return json.loads(body)
    except ValueError:
        return body


def strip_stats(doc):
    """Query stats hold timings and sample counts of each engine."""
    if isinstance(doc, dict) and isinstance(doc.get("data"), dict):
        doc["data"].pop("stats", None)
    return doc


def cut_to_limit(doc, limit):
    """What 3.x answers where 2.42 ignored limit."""
    data = doc.get("data")
    if isinstance(data, dict) and data.get("resultType") in ("vector", "matrix"):
        items = data["result"]
    elif isinstance(data, list):
        items = data
    else:
        return doc
    if len(items) > limit:
        del items[limit:]
        doc.setdefault("warnings", []).append("results truncated due to limit")
    return doc


# Flag values that name this process's own files and sockets.
PROCESS_FLAGS = {"storage.tsdb.path", "web.listen-address"}
# Flags of Prometheus 3.x that 2.42 does not have (hidden flags included: the
# flags endpoint lists them): compared with 3.x's defaults instead.
FLAGS_3X = {"storage.tsdb.wal-compression-type": "snappy"}


def compare_status(path, ours, theirs):
    o, t = ours.get("data", {}), theirs.get("data", {})
    if path.endswith("/flags"):
        for k, v in FLAGS_3X.items():
            if k in o and k not in t:
                if o[k] != v:
                    return f"flag {k}: {o[k]!r}, 3.x's default is {v!r}"
                t = dict(t, **{k: v})
        missing = [k for k in o if k not in t]
        if missing:
            return f"flags 2.42 does not have: {missing}"
        for k in o:
            if k not in PROCESS_FLAGS and o[k] != t[k]:
                return f"flag {k}: {o[k]!r} vs {t[k]!r}"
        return None
    if path.endswith("/buildinfo"):
        return None if list(o) == list(t) else f"keys {list(o)} vs {list(t)}"
    if path.endswith("/runtimeinfo"):
        missing = [k for k in t if k not in o]
        if missing:
            return f"runtimeinfo lacks {missing}"
        for k in ("storageRetention", "reloadConfigSuccess"):
            if o[k] != t[k]:
                return f"{k}: {o[k]!r} vs {t[k]!r}"
        return None
    if path.endswith("/config"):
        return None if isinstance(o.get("yaml"), str) and list(o) == list(t) else "config shape"
    return "unknown status endpoint"


def send(url, req):
    qs = urllib.parse.urlencode(req.params)
    if req.method == "POST":
        return http(url + req.path, data=qs.encode(), method="POST",
                    headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=120)
    return http(url + req.path + (f"?{qs}" if qs else ""), timeout=120)


def run_requests(ours_url, theirs_url, reqs):
    identical, differ, failures = 0, [], []
    for req in reqs:
        so, bo = send(ours_url, req)
        st, bt = send(theirs_url, req)
        if so == 0:
            raise AssertionError(f"prom-server did not answer {req.label()}")
        o, t = parse(bo), parse(bt)
        if isinstance(o, dict):
            strip_stats(o)
        if isinstance(t, dict):
            strip_stats(t)
        same = so == st and diff(o, t, unordered=unordered_vector(req, o)) is None
        if same:
            identical += 1
            continue
        why = None
        if req.mode == "exact":
            why = f"{so} vs {st}: " + (diff(o, t, unordered=unordered_vector(req, o)) or "")
            failures.append((req, why, bo, bt))
        elif req.mode == "error":
            ok = so == st and isinstance(o, dict) and isinstance(t, dict) and \
                o.get("errorType") == t.get("errorType") and o.get("status") == "error"
            why = f"{so} {o.get('error') if isinstance(o, dict) else o!r} vs {st} " \
                  f"{t.get('error') if isinstance(t, dict) else t!r}"
            if not ok:
                failures.append((req, why, bo, bt))
        elif req.mode == "limit":
            limit = int(dict(req.params)["limit"])
            req_nolimit = Req(req.path, [p for p in req.params if p[0] != "limit"])
            cut = cut_to_limit(t, limit) if isinstance(t, dict) else t
            d = diff(o, cut, unordered=unordered_vector(req_nolimit, o))
            why = "2.42 ignores limit; equal once cut" if so == st and d is None else \
                f"{so} vs {st}: {d}"
            if so != st or d is not None:
                failures.append((req, why, bo, bt))
        elif req.mode == "status":
            d = compare_status(req.path, o, t) if so == st == 200 else f"{so} vs {st}"
            why = d or "only process-specific fields differ"
            if d:
                failures.append((req, why, bo, bt))
        elif req.mode == "known":
            why = f"{so} vs {st}: " + (diff(o, t, unordered=unordered_vector(req, o)) or "")
        elif req.mode == "ours":
            why = f"ours {so}, 2.42 {st}"
            if so != req.expect:
                failures.append((req, f"ours answered {so}, expected {req.expect}", bo, bt))
        differ.append((req, why))
    return identical, differ, failures


def body():
    build = sys.argv[2]
    server = os.path.join(build, "bin", "prom-server")
    check(os.path.exists(server), "prom-server is built")
    base = (int(time.time()) - (HOURS + 1) * 3600) // 60 * 60 * 1000
    with Run("api-diff") as run:
        fams = gen(base, random.Random(20261126))
        om = os.path.join(run.tmp, "input.om")
        nseries = write_openmetrics(om, fams)
        data = os.path.join(run.tmp, "data")
        p = run.start("promtool", ["promtool", "tsdb", "create-blocks-from", "openmetrics", om,
                                   data])
        rc = p.wait()
        run.stop(p)
        check(rc == 0, f"promtool create-blocks-from openmetrics exited {rc}")
        blocks = sorted(b for b in os.listdir(data)
                        if os.path.isfile(os.path.join(data, b, "meta.json")))
        check(len(blocks) >= 2, f"promtool made {len(blocks)} blocks from {nseries} series")
        peer_data = os.path.join(run.tmp, "peer-data")
        shutil.copytree(data, peer_data)
        cfg = os.path.join(run.tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
        # Blocks of 2h at most on both sides: neither compacts promtool's blocks.
        common = [f"--config.file={cfg}", "--storage.tsdb.retention.time=100y",
                  f"--query.max-samples={MAX_SAMPLES}", "--storage.tsdb.min-block-duration=2h",
                  "--storage.tsdb.max-block-duration=2h"]
        tport, oport = free_port(), free_port()
        theirs = f"http://127.0.0.1:{tport}"
        ours = f"http://127.0.0.1:{oport}"
        run.start("prometheus", ["prometheus", *common, f"--storage.tsdb.path={peer_data}",
                                 f"--web.listen-address=127.0.0.1:{tport}"],
                  f"{theirs}/-/ready", timeout=60)
        run.start("prom-server", [server, *common, f"--storage.tsdb.path={data}",
                                  f"--web.listen-address=127.0.0.1:{oport}"],
                  f"{ours}/-/ready", timeout=30)
        reqs = build_requests(base)
        identical, differ, failures = run_requests(ours, theirs, reqs)
        peer_blocks = sorted(b for b in os.listdir(peer_data)
                             if os.path.isfile(os.path.join(peer_data, b, "meta.json")))
        check(peer_blocks == blocks, "prometheus kept promtool's blocks as they were")
        print(f"identical answers: {identical} of {len(reqs)} requests")
        for req, why in differ:
            print(f"  differs [{req.mode}] {req.label()[:160]}")
            print(f"      {why[:300]}" + (f" ({req.note})" if req.note else ""))
        for req, why, bo, bt in failures:
            print(f"FAILED [{req.mode}] {req.label()[:300]}\n  {why[:500]}\n"
                  f"  ours:   {bo[:700]}\n  theirs: {bt[:700]}")
        check(len(reqs) >= 150, f"{len(reqs)} requests sent")
        check(not failures, f"{len(failures)} requests differ beyond what 2.42 vs 3.x explains")
    print("PASS")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    main(body)
