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

Then the admin API on the same pair (both run with --web.enable-admin-api),
last since it changes the data: delete_series (a range of one series, all
of another, two selectors at once), the same queries before and after
clean_tombstones, snapshots (named as upstream names them; both hold the
same blocks).

A second pair scrapes one small target served by this script (OpenMetrics
with HELP, TYPE, UNIT, escapes, NaN and Inf, a family that vanishes after
two scrapes so its series go stale, a second path with other metadata), a
port nobody listens on, and targets that relabeling drops, with external
labels set.  Against it go /targets (state and scrapePool filters),
/scrape_pools, /targets/metadata, /metadata, /status/tsdb, /status/walreplay,
/federate (text and protobuf) and the admin endpoints, refused there.
Modes for these:
  targets     scrape times, durations and the words of a scrape error set
              aside, active targets in URL order (upstream's is random);
              3.x's droppedTargets[].scrapePool and droppedTargetCounts are
              checked on our side, then dropped (2.42 has neither);
  unordered   lists compared as sets (upstream walks Go maps);
  meta_limit, tm_limit  `limit` keeps whole metrics / whole targets, which
              upstream picks at random: each answer is checked against its
              own unlimited one;
  tsdb        head times and chunk counts checked for sense, the top-10
              lists compared but for ties at the cut; memoryInBytes only in
              shape (2.42 sums value lengths, 3.x estimates encoded bytes);
  federate    families in order, samples of a family as a set, timestamps
              within the lookback window; Content-Type as 3.x writes it
              (with escaping=underscores, which 2.42 lacks);
  snapshot    both answer a new name of upstream's form;
  code        the same HTTP status (405 bodies are each server's).
"""
import json
import math
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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
    def __init__(self, path, params=None, mode="exact", method="GET", note="", expect=200,
                 headers=None):
        self.path, self.params, self.mode = path, params or [], mode
        self.method, self.note, self.expect = method, note, expect
        self.headers = headers or {}

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
    # Without scrape jobs: empty target and metadata answers; the head is
    # empty (the data is in blocks).
    reqs.append(Req("/api/v1/targets", mode="targets"))
    for p in ("scrape_pools", "metadata", "targets/metadata", "status/walreplay"):
        reqs.append(Req(f"/api/v1/{p}"))
    reqs.append(Req("/api/v1/status/tsdb", mode="known",
                    note="upstream truncates an empty head to the newest block's end at start, "
                         "so its minTime and maxTime are that time; our TSDB's head reports "
                         "none (MaxInt64, MinInt64)"))
    return reqs


# ---- Admin requests (the static pair, sent last: they change the data)

SNAPSHOT_NAME = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{16}$")


def build_admin_requests(base):
    """delete_series, clean_tombstones and snapshot, each change checked by
    the same queries on both sides before and after the tombstones go."""
    t1 = base + 67 * 60_000 + 321
    t2 = base + 150 * 60_000 + 771
    late = base + 5 * 3600_000 + 11
    lower = "3.x writes 'invalid time value', 2.42 'Invalid time value'"
    adm = "/api/v1/admin/tsdb/"
    reqs = [
        Req(adm + "delete_series", [], method="POST"),
        Req(adm + "delete_series", [("match[]", "up"), ("start", "x")], mode="error",
            method="POST", note=lower),
        Req(adm + "delete_series", [("match[]", "up"), ("end", "yesterday")], mode="error",
            method="PUT", note=lower),
        Req(adm + "delete_series", [("match[]", "up{")], method="POST"),
        Req(adm + "snapshot", [("skip_head", "maybe")], method="POST"),
        Req(adm + "delete_series", [("match[]", "up")], mode="code",
            note="GET is not allowed; each HTTP server words its 405"),
    ]
    checks = [
        Req("/api/v1/query_range", [("query", 'memory_bytes{instance="host-1"}'),
                                    ("start", secs(t1 - 1800_000)),
                                    ("end", secs(t2 + 1800_000)), ("step", "5m")]),
        Req("/api/v1/query", [("query", 'count_over_time(memory_bytes{instance="host-1"}[6h])'),
                              ("time", secs(late))]),
        Req("/api/v1/query", [("query", "tiny_ratio"), ("time", secs(t2))]),
        Req("/api/v1/series", [("match[]", "tiny_ratio")]),
        Req("/api/v1/query", [("query", "count_over_time(special_values[6h])"),
                              ("time", secs(late))]),
        Req("/api/v1/query", [("query", "count_over_time(weird_labels[6h])"),
                              ("time", secs(late))]),
        Req("/api/v1/query", [("query", 'count({__name__=~".+"})'), ("time", secs(t2))]),
        Req("/api/v1/query_range", [("query", "count(weird_labels)"), ("start", secs(t1)),
                                    ("end", secs(late)), ("step", "10m")]),
    ]
    reqs += [
        Req(adm + "delete_series", [("match[]", 'memory_bytes{instance="host-1"}'),
                                    ("start", secs(t1)), ("end", secs(t2))], method="POST"),
        Req(adm + "delete_series", [("match[]", 'tiny_ratio{instance="host-0"}')], method="PUT"),
        Req(adm + "delete_series", [("match[]", '{__name__=~"special_.*",case=~"nan|inf"}'),
                                    ("match[]", "weird_labels"), ("start", secs(t2)),
                                    ("end", secs(late))], method="POST"),
    ]
    reqs += checks
    reqs.append(Req("/api/v1/label/instance/values", [("match[]", "tiny_ratio")], mode="known",
                    note="upstream's label values with match[] still see a series whose "
                         "samples are all deleted, until tombstones are cleaned; ours does not"))
    reqs.append(Req(adm + "clean_tombstones", [], method="POST"))
    reqs.append(Req("/api/v1/label/instance/values", [("match[]", "tiny_ratio")]))
    reqs += [Req(r.path, r.params) for r in checks]
    reqs.append(Req(adm + "snapshot", [("skip_head", "true")], method="POST", mode="snapshot"))
    reqs.append(Req(adm + "snapshot", [], method="PUT", mode="snapshot"))
    return reqs


def snapshot_blocks(data):
    """Sorted block counts of the snapshots under <data>/snapshots."""
    root = os.path.join(data, "snapshots")
    if not os.path.isdir(root):
        return []
    return sorted(len([b for b in os.listdir(os.path.join(root, d))
                       if os.path.isfile(os.path.join(root, d, b, "meta.json"))])
                  for d in os.listdir(root))


# ---- The scraping pair: both servers scrape the same small target

EXPO = """# HELP demo_requests Requests handled.
# TYPE demo_requests counter
demo_requests_total{path="/a"} 10
demo_requests_total{path="/b",code="500"} 3
# HELP demo_temp_celsius Temperature "inside" \\\\ the <box>.
# TYPE demo_temp_celsius gauge
# UNIT demo_temp_celsius celsius
demo_temp_celsius 21.5
# TYPE demo_latency_seconds histogram
# UNIT demo_latency_seconds seconds
demo_latency_seconds_bucket{le="0.1"} 1
demo_latency_seconds_bucket{le="1"} 4
demo_latency_seconds_bucket{le="+Inf"} 5
demo_latency_seconds_sum 2.5
demo_latency_seconds_count 5
# HELP demo_rpc RPC latency.
# TYPE demo_rpc summary
demo_rpc{quantile="0.5"} 0.25
demo_rpc{quantile="0.99"} 1.5e-07
demo_rpc_sum 12.5
demo_rpc_count 50
# TYPE demo_thing unknown
demo_thing 7
# HELP demo_noinst_ratio Federated without an instance.
# TYPE demo_noinst_ratio gauge
demo_noinst_ratio 0.125
# TYPE demo_special gauge
demo_special{case="nan"} NaN
demo_special{case="inf"} +Inf
demo_special{case="big"} 1.5e+300
demo_special{case="million"} 1e+06
demo_special{case="esc",v="a\\"b\\\\c\\nd"} -0.5
"""
# Served to each scraper on its first two scrapes only: its series go stale.
# No TYPE line: upstream keeps a family's metadata for ten scrapes after it
# vanished, ours forgets it at once (the scrape module's choice).
FLAKY = "demo_flaky 1\n"
OTHER = """# HELP demo_temp_celsius Temperature elsewhere.
# TYPE demo_temp_celsius gauge
demo_temp_celsius 19
# TYPE demo_other counter
demo_other_total 1
# EOF
"""


class Target:
    """A scrape target in this process: /metrics (EXPO, FLAKY at first) and
    /other, counting the scrapes of each User-Agent."""

    def __init__(self):
        self.counts = Counter()
        self.lock = threading.Lock()
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                key = (self.headers.get("User-Agent", ""), self.path)
                with target.lock:
                    target.counts[key] += 1
                    n = target.counts[key]
                if self.path == "/metrics":
                    text = EXPO + (FLAKY if n <= 2 else "") + "# EOF\n"
                elif self.path == "/other":
                    text = OTHER
                else:
                    self.send_error(404)
                    return
                body = text.encode()
                self.send_response(200)
                self.send_header("Content-Type",
                                 "application/openmetrics-text; version=1.0.0; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def scrapes(self):
        """{user agent: fewest scrapes of its two paths}"""
        with self.lock:
            agents = {ua for ua, _ in self.counts}
            return {ua: min(self.counts[(ua, "/metrics")], self.counts[(ua, "/other")])
                    for ua in agents}

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


SCRAPE_CONFIG = """global:
  scrape_interval: 1s
  scrape_timeout: 1s
  external_labels:
    site: test
    region: eu
scrape_configs:
  - job_name: demo
    static_configs:
      - targets: ['127.0.0.1:{tport}', '127.0.0.1:{dead}']
        labels:
          team: x
      - targets: ['skip:9']
    relabel_configs:
      - source_labels: [__address__]
        regex: 'skip:.*'
        action: drop
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: demo_noinst_ratio
        target_label: instance
        replacement: ''
  - job_name: dropper
    metrics_path: /other
    static_configs:
      - targets: ['127.0.0.1:{tport}', 'dropme:1', 'dropme:2']
    relabel_configs:
      - source_labels: [__address__]
        regex: 'dropme:.*'
        action: drop
  - job_name: empty
    static_configs: []
"""
# What droppedTargetCounts (3.x) must say for SCRAPE_CONFIG.
DROPPED_COUNTS = {"demo": 1, "dropper": 2, "empty": 0}

PB_ACCEPT = ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
             "encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3")


def build_scrape_requests(tport):
    reqs = []
    for params in ([], [("state", "active")], [("state", "dropped")], [("state", "any")],
                   [("state", "Active")], [("state", "bogus")], [("scrapePool", "demo")],
                   [("scrapePool", "dropper"), ("state", "dropped")],
                   [("scrapePool", "empty")], [("scrapePool", "nope"), ("state", "active")]):
        reqs.append(Req("/api/v1/targets", params, mode="targets"))
    reqs.append(Req("/api/v1/scrape_pools"))
    tm = "/api/v1/targets/metadata"
    for params in ([], [("metric", "demo_temp_celsius")], [("metric", "demo_requests")],
                   [("metric", "demo_requests_total")], [("metric", "nope")],
                   [("match_target", '{job="dropper"}')],
                   [("match_target", '{instance=~".*:%d"}' % tport)],
                   [("match_target", '{team="x"}'), ("metric", "demo_thing")],
                   [("match_target", '{job="demo",nothing=""}')],
                   [("limit", "0")], [("limit", "-1")], [("limit", "25")]):
        reqs.append(Req(tm, params, mode="unordered"))
    reqs.append(Req(tm, [("limit", "1")], mode="tm_limit"))
    reqs.append(Req(tm, [("limit", "x")]))
    reqs.append(Req(tm, [("match_target", "x{")]))
    md = "/api/v1/metadata"
    for params in ([], [("metric", "demo_temp_celsius")], [("metric", "demo_other")],
                   [("metric", "nope")], [("limit", "-1")], [("limit", "0")]):
        reqs.append(Req(md, params, mode="unordered"))
    reqs.append(Req(md, [("limit", "2")], mode="meta_limit"))
    reqs.append(Req(md, [("limit", "x")]))
    note = "limit_per_metric is newer than 2.42, which ignores it"
    reqs.append(Req(md, [("limit_per_metric", "1")], mode="ours", note=note))
    reqs.append(Req(md, [("limit_per_metric", "x")], mode="ours", expect=400, note=note))
    reqs.append(Req("/api/v1/status/tsdb", mode="tsdb"))
    reqs.append(Req("/api/v1/status/tsdb", [("limit", "3")], mode="tsdb"))
    note = "status/tsdb's limit is newer than 2.42, which ignores it"
    for bad in ("0", "x", "10001"):
        reqs.append(Req("/api/v1/status/tsdb", [("limit", bad)], mode="ours", expect=400,
                        note=note))
    reqs.append(Req("/api/v1/status/walreplay"))
    fed = [
        [("match[]", '{__name__=~"demo_.*"}')],
        [("match[]", "up")],
        [("match[]", "scrape_samples_scraped"), ("match[]", "up"),
         ("match[]", '{__name__="up",job="demo"}')],
        [("match[]", '{job="dropper",__name__!="scrape_duration_seconds"}')],
        [("match[]", "demo_noinst_ratio")],
        [("match[]", "demo_special")],
        [("match[]", "demo_flaky")],
        [("match[]", '{__name__=~"demo_temp.*",nothing=""}')],
        [("match[]", "nothing_here")],
        [],
        [("match[]", "x{")],
        [("match[]", "rate(x[5m])")],
    ]
    for params in fed:
        reqs.append(Req("/federate", params, mode="federate"))
    for params in fed[:3]:
        reqs.append(Req("/federate", params, mode="federate", headers={"Accept": PB_ACCEPT}))
    adm = "/api/v1/admin/tsdb/"
    reqs.append(Req(adm + "snapshot", [], method="POST"))
    reqs.append(Req(adm + "delete_series", [("match[]", "up")], method="PUT"))
    reqs.append(Req(adm + "clean_tombstones", [], method="POST"))
    return reqs


# ---- Comparing answers that need normalising

def norm_targets(req, doc, ours):
    """Times and durations of scrapes out; lastError only said or not (its
    words are each HTTP client's); active targets in URL order (upstream's
    is a Go map's).  3.x's droppedTargets[].scrapePool and
    droppedTargetCounts are checked on our side and then dropped (2.42 has
    neither), and 2.42's answer is filtered by scrapePool where it is not.
    Returns a problem, or None."""
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, dict):
        return "no data"
    params = dict(req.params)
    pool = params.get("scrapePool", "")
    state = params.get("state", "").lower()
    shows_dropped = state in ("", "any", "dropped")
    for t in data.get("activeTargets", []):
        for key in ("lastScrape", "lastScrapeDuration"):
            if key not in t:
                return f"active target without {key}"
        t["lastScrape"] = "<time>"
        t["lastScrapeDuration"] = 0
        t["lastError"] = "<error>" if t.get("lastError") else ""
    if pool:
        data["activeTargets"] = [t for t in data["activeTargets"] if t["scrapePool"] == pool]
        data["droppedTargets"] = [t for t in data["droppedTargets"]
                                  if t["discoveredLabels"].get("job") == pool]
    data["activeTargets"].sort(key=lambda t: (t["scrapePool"], t["scrapeUrl"]))
    if ours:
        want = CONTEXT["dropped_counts"] if shows_dropped else None
        if data.get("droppedTargetCounts") != want:
            return f"droppedTargetCounts {data.get('droppedTargetCounts')!r}, want {want!r}"
        del data["droppedTargetCounts"]
        for t in data["droppedTargets"]:
            if t.get("scrapePool") != t["discoveredLabels"].get("job"):
                return f"dropped target's scrapePool {t.get('scrapePool')!r}"
            del t["scrapePool"]
    return None


def group_metadata(doc):
    """targets/metadata entries grouped by target."""
    groups = {}
    for e in doc["data"]:
        key = json.dumps(e["target"], sort_keys=True)
        groups.setdefault(key, []).append(json.dumps(e, sort_keys=True))
    return sorted(sorted(g) for g in groups.values())


def top_lists_agree(o, t, limit):
    """Two top-k lists of (name, value) whose ties upstream breaks at random:
    the same values, and the same names above the smallest value shown when
    the list may have been cut."""
    ov = [x["value"] for x in o]
    tv = [x["value"] for x in t]
    if sorted(ov, reverse=True) != sorted(tv, reverse=True):
        return f"values {ov} vs {tv}"
    if not ov:
        return None
    cut = min(ov) if len(ov) >= limit else None
    on = {x["name"] for x in o if cut is None or x["value"] > cut}
    tn = {x["name"] for x in t if cut is None or x["value"] > cut}
    return None if on == tn else f"names {sorted(on)} vs {sorted(tn)}"


def compare_tsdb(req, o, t):
    od, td = o.get("data", {}), t.get("data", {})
    if list(od) != list(td):
        return f"keys {list(od)} vs {list(td)}"
    limit = int(dict(req.params).get("limit", "10"))
    oh, th = od["headStats"], td["headStats"]
    if list(oh) != list(th):
        return f"headStats keys {list(oh)} vs {list(th)}"
    for k in ("numSeries", "numLabelPairs"):
        if oh[k] != th[k]:
            return f"headStats.{k} {oh[k]} vs {th[k]}"
    n = oh["numSeries"]
    now = int(time.time() * 1000)
    for side, h in (("ours", oh), ("2.42", th)):
        if not n <= h["chunkCount"] <= 3 * n:
            return f"{side}: chunkCount {h['chunkCount']} for {n} series"
        if not now - 600_000 <= h["minTime"] <= h["maxTime"] <= now + 60_000:
            return f"{side}: head times {h['minTime']}..{h['maxTime']}"
    for key in ("seriesCountByMetricName", "labelValueCountByLabelName",
                "seriesCountByLabelValuePair"):
        d = top_lists_agree(od[key], td[key][:limit], limit)
        if d:
            return f"{key}: {d}"
    # 2.42 sums the values' lengths, 3.x estimates the bytes of the
    # encoded labels times their series: only the shape agrees.
    if len(od["memoryInBytesByLabelName"]) != len(td["memoryInBytesByLabelName"][:limit]):
        return "memoryInBytesByLabelName lengths"
    return None


def parse_text_families(body):
    """[(name, type, sorted samples)] and the samples' timestamps."""
    fams, stamps = [], []
    for line in body.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            fams.append((name, typ, []))
        elif line.startswith("#") or not line:
            continue
        else:
            head, ts = line.rsplit(" ", 1)
            stamps.append(int(ts))
            fams[-1][2].append(head)
    return [(n, t, sorted(v)) for n, t, v in fams], stamps


def varint(b, i):
    shift = v = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return v, i


def pb_fields(b):
    out, i = [], 0
    while i < len(b):
        key, i = varint(b, i)
        wire = key & 7
        if wire == 0:
            v, i = varint(b, i)
        elif wire == 1:
            v = struct.unpack("<d", b[i:i + 8])[0]
            i += 8
        elif wire == 2:
            n, i = varint(b, i)
            v = b[i:i + n]
            i += n
        else:
            raise ValueError(f"wire type {wire}")
        out.append((key >> 3, v))
    return out


PB_TYPES = {0: "counter", 1: "gauge", 2: "summary", 3: "untyped", 4: "histogram"}


def parse_pb_families(body):
    """The same shape as parse_text_families from delimited MetricFamily messages."""
    fams, stamps, i = [], [], 0
    while i < len(body):
        n, i = varint(body, i)
        msg = body[i:i + n]
        i += n
        name, typ, samples = "", "", []
        for f, v in pb_fields(msg):
            if f == 1:
                name = v.decode()
            elif f == 3:
                typ = PB_TYPES.get(v, str(v))
            elif f == 4:
                labels, value = [], None
                for mf, mv in pb_fields(v):
                    if mf == 1:
                        pair = dict(pb_fields(mv))
                        labels.append((pair.get(1, b"").decode(), pair.get(2, b"").decode()))
                    elif mf == 5:
                        value = dict(pb_fields(mv)).get(1, 0.0)
                    elif mf == 6:
                        stamps.append(mv)
                samples.append(json.dumps([labels, "NaN" if value != value else repr(value)]))
        fams.append((name, typ, sorted(samples)))
    return fams, stamps


def compare_federate(req, so, bo, co, st, bt, ct):
    if so != st:
        return f"status {so} vs {st}"
    if so != 200:
        return None if bo == bt else f"{bo!r} vs {bt!r}"
    proto = "protobuf" in req.headers.get("Accept", "")
    want_o = ("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
              "encoding=delimited; escaping=underscores" if proto else
              "text/plain; version=0.0.4; charset=utf-8; escaping=underscores")
    if co != want_o:
        return f"our Content-Type {co!r}"
    if not want_o.startswith(ct):
        return f"2.42's Content-Type {ct!r}"
    if proto:
        fo, so_ = parse_pb_families(bo)
        ft, st_ = parse_pb_families(bt)
    else:
        fo, so_ = parse_text_families(bo.decode())
        ft, st_ = parse_text_families(bt.decode())
    now = int(time.time() * 1000)
    for side, stamps in (("ours", so_), ("2.42", st_)):
        if any(not now - 330_000 <= x <= now + 1000 for x in stamps):
            return f"{side}: a timestamp outside the lookback window"
    if fo != ft:
        for a, b in zip(fo + [None] * len(ft), ft + [None] * len(fo)):
            if a != b:
                return f"family {a!r} vs {b!r}"
    return None


# What the special comparisons need to know about the run.
CONTEXT = {"dropped_counts": {}}
SPECIAL_MODES = {"targets", "unordered", "tsdb", "federate", "meta_limit", "tm_limit", "code",
                 "snapshot"}


def compare_special(req, ours_url, theirs_url):
    """(identical, problem, why) for the modes that normalise."""
    if req.mode == "federate":
        so, bo, co = fetch(ours_url, req)
        st, bt, ct = fetch(theirs_url, req)
        d = compare_federate(req, so, bo, co, st, bt, ct)
        return bo == bt and so == st and co == ct, d, \
            "equal once sample timestamps, family order within a name and Content-Type's " \
            "escaping are set aside"
    so, bo = send(ours_url, req)
    st, bt = send(theirs_url, req)
    if so == 0:
        raise AssertionError(f"prom-server did not answer {req.label()}")
    o, t = parse(bo), parse(bt)
    raw = so == st and diff(o, t) is None
    if req.mode == "code":
        return raw, None if so == st else f"{so} vs {st}", "same status; bodies are each server's"
    if so != st or not isinstance(o, dict) or not isinstance(t, dict):
        return False, f"{so} vs {st}: {bo[:200]} | {bt[:200]}", ""
    if so != 200:
        return raw, diff(o, t), ""
    if req.mode == "targets":
        d = norm_targets(req, o, True) or norm_targets(req, t, False) or diff(o, t)
        return raw, d, "equal once scrape times, durations and error words are set aside; " \
            "3.x's droppedTargets[].scrapePool and droppedTargetCounts checked"
    if req.mode == "unordered":
        return raw, diff(o, t, unordered=True), "equal in another order (upstream's is random)"
    if req.mode == "tsdb":
        return raw, compare_tsdb(req, o, t), \
            "head times, chunk counts and ties at the cut set aside; memoryInBytes differs in kind"
    if req.mode == "snapshot":
        ok = all(SNAPSHOT_NAME.match(str(x.get("data", {}).get("name", ""))) for x in (o, t))
        return False, None if ok else f"names {bo} vs {bt}", "each a new name of the same form"
    full = Req(req.path, [p for p in req.params if p[0] != "limit"])
    fo, ft = parse(send(ours_url, full)[1]), parse(send(theirs_url, full)[1])
    if diff(fo, ft, unordered=True):
        return False, "the unlimited answers differ", ""
    if req.mode == "meta_limit":
        limit = int(dict(req.params)["limit"])
        want = min(limit, len(fo["data"]))
        if len(o["data"]) != want or len(t["data"]) != want:
            return False, f"{len(o['data'])} and {len(t['data'])} metrics, want {want}", ""
        for k, v in o["data"].items():
            if diff(v, fo["data"].get(k), unordered=True):
                return False, f"metric {k} not as in the full answer", ""
        return raw, None, "each keeps `limit` metrics of the full answer (upstream picks at random)"
    if req.mode == "tm_limit":
        go, gt = group_metadata(o), group_metadata(t)
        if len(go) != 1 or len(gt) != 1 or go[0] not in group_metadata(fo) or \
                gt[0] not in group_metadata(ft):
            return False, "not one whole target's metadata", ""
        return raw, None, "each the whole metadata of one target (upstream's first is random)"
    return False, f"unknown mode {req.mode}", ""


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
    if req.method in ("POST", "PUT"):
        return http(url + req.path, data=qs.encode(), method=req.method,
                    headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=120)
    return http(url + req.path + (f"?{qs}" if qs else ""), method=req.method,
                headers=req.headers, timeout=120)


def fetch(url, req):
    """(status, body bytes, Content-Type) of a GET with the request's headers."""
    qs = urllib.parse.urlencode(req.params)
    r = urllib.request.Request(url + req.path + (f"?{qs}" if qs else ""), headers=req.headers)
    try:
        with urllib.request.urlopen(r, timeout=60) as resp:
            return resp.status, resp.read(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("Content-Type", "")


def run_requests(ours_url, theirs_url, reqs):
    identical, differ, failures = 0, [], []
    for req in reqs:
        if req.mode in SPECIAL_MODES:
            raw, problem, why = compare_special(req, ours_url, theirs_url)
            if raw:
                identical += 1
            elif problem:
                failures.append((req, problem, "", ""))
            else:
                differ.append((req, why))
            continue
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


def report(title, reqs, identical, differ, failures):
    print(f"{title}: identical answers: {identical} of {len(reqs)} requests")
    for req, why in differ:
        print(f"  differs [{req.mode}] {req.label()[:160]}")
        print(f"      {why[:300]}" + (f" ({req.note})" if req.note else ""))
    for req, why, bo, bt in failures:
        print(f"FAILED [{req.mode}] {req.label()[:300]}\n  {why[:500]}\n"
              f"  ours:   {bo[:700]}\n  theirs: {bt[:700]}")


def wait_scraped(target, ours, theirs, tport, timeout=60):
    """Until both servers scraped both paths of the target four times (the
    flaky family gone stale) and both report the target up."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        counts = target.scrapes()
        if len(counts) >= 2 and all(n >= 4 for n in counts.values()):
            ups = 0
            for url in (ours, theirs):
                st, body = http(url + "/api/v1/targets?state=active")
                doc = parse(body) if st == 200 else {}
                ups += sum(1 for t in doc.get("data", {}).get("activeTargets", [])
                           if t["health"] == "up" and f":{tport}/" in t["scrapeUrl"])
            if ups == 4:
                return
        time.sleep(0.25)
    raise AssertionError(f"the target was not scraped by both servers: {target.scrapes()}")


def body():
    build = sys.argv[2]
    server = os.path.join(build, "bin", "prom-server")
    check(os.path.exists(server), "prom-server is built")
    base = (int(time.time()) - (HOURS + 1) * 3600) // 60 * 60 * 1000
    totals = [0, 0, 0]  # requests, identical, failures
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
                  "--storage.tsdb.max-block-duration=2h", "--web.enable-admin-api"]
        tport, oport = free_port(), free_port()
        theirs = f"http://127.0.0.1:{tport}"
        ours = f"http://127.0.0.1:{oport}"
        tp = run.start("prometheus", ["prometheus", *common, f"--storage.tsdb.path={peer_data}",
                                      f"--web.listen-address=127.0.0.1:{tport}"],
                       f"{theirs}/-/ready", timeout=60)
        op = run.start("prom-server", [server, *common, f"--storage.tsdb.path={data}",
                                       f"--web.listen-address=127.0.0.1:{oport}"],
                       f"{ours}/-/ready", timeout=30)
        reqs = build_requests(base)
        identical, differ, failures = run_requests(ours, theirs, reqs)
        peer_blocks = sorted(b for b in os.listdir(peer_data)
                             if os.path.isfile(os.path.join(peer_data, b, "meta.json")))
        check(peer_blocks == blocks, "prometheus kept promtool's blocks as they were")
        report("backfilled data", reqs, identical, differ, failures)
        totals = [len(reqs), identical, len(failures)]

        # The admin API last: it deletes, rewrites blocks and snapshots.
        adm = build_admin_requests(base)
        identical, differ, failures = run_requests(ours, theirs, adm)
        report("admin", adm, identical, differ, failures)
        totals = [totals[0] + len(adm), totals[1] + identical, totals[2] + len(failures)]
        check(snapshot_blocks(data) == snapshot_blocks(peer_data) and
              len(snapshot_blocks(data)) == 2,
              f"snapshots hold the same blocks: {snapshot_blocks(data)} and "
              f"{snapshot_blocks(peer_data)}")
        run.stop(op)
        run.stop(tp)

        # A second pair scraping one target: targets, metadata, head
        # statistics, federation; admin endpoints disabled.
        target = Target()
        try:
            scfg = os.path.join(run.tmp, "scrape.yml")
            with open(scfg, "w") as f:
                f.write(SCRAPE_CONFIG.format(tport=target.port, dead=free_port()))
            tport2, oport2 = free_port(), free_port()
            theirs2 = f"http://127.0.0.1:{tport2}"
            ours2 = f"http://127.0.0.1:{oport2}"
            run.start("prometheus-scrape",
                      ["prometheus", f"--config.file={scfg}",
                       f"--storage.tsdb.path={os.path.join(run.tmp, 'peer-scrape')}",
                       f"--web.listen-address=127.0.0.1:{tport2}"],
                      f"{theirs2}/-/ready", timeout=60)
            run.start("prom-server-scrape",
                      [server, f"--config.file={scfg}",
                       f"--storage.tsdb.path={os.path.join(run.tmp, 'scrape')}",
                       f"--web.listen-address=127.0.0.1:{oport2}"],
                      f"{ours2}/-/ready", timeout=30)
            wait_scraped(target, ours2, theirs2, target.port)
            CONTEXT["dropped_counts"] = DROPPED_COUNTS
            sreqs = build_scrape_requests(target.port)
            identical, differ, failures = run_requests(ours2, theirs2, sreqs)
            report("scraping", sreqs, identical, differ, failures)
            totals = [totals[0] + len(sreqs), totals[1] + identical,
                      totals[2] + len(failures)]
        finally:
            target.close()
        print(f"identical answers: {totals[1]} of {totals[0]} requests")
        check(totals[0] >= 150, f"{totals[0]} requests sent")
        check(totals[2] == 0, f"{totals[2]} requests differ beyond what 2.42 vs 3.x explains")
    print("PASS")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    main(body)
