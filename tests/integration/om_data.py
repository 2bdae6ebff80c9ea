"""om_data.py - generated OpenMetrics data for the tests that feed both
promtool and prom-tool the same file (tool_backfill.py, tool_tsdb.py).

families() returns [(family, type, [(name, {labels}, [(t ms, value)])])]:
counters (optionally with an hour-long gap in some series), gauges with
values across many magnitudes and NaN/+Inf/-Inf, label values with quotes,
backslashes, newlines and UTF-8, classic histograms and summaries, with a
share of the series starting late or stopping early (churn).
write_openmetrics() writes them out, one metric point per timestamp for
histograms and summaries, as the text parsers expect.
"""


def om_escape(v):
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def om_float(v):
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)


def om_ts(t):
    return f"{t // 1000}.{t % 1000:03d}"


ODD_LABELS = [{"path": "C:\\dir\\x"}, {"quote": 'say "hi"'}, {"nl": "a\nb"},
              {"uni": "température ✓"}, {"html": "<a&b>"}, {"mixed": '\\"\n\\n'}]


def families(rng, prefix, times, *, counters, gauges, histograms, le, summaries=0,
             quantiles=(), late=0.3, gap=None, fixed=False):
    """`gap`: (first, last) step indexes left out of every 9th counter;
    `fixed`: two gauges of known NaN / +Inf / -Inf values to query."""
    steps = len(times)
    fams = []

    def span():
        a, b = 0, steps
        if rng.random() < late:
            a = rng.randrange(1, steps // 2)
        if rng.random() < 0.25:
            b = rng.randrange(steps // 2, steps)
        return a, b

    series = []
    for i in range(counters):
        for code in ("200", "404", "500"):
            a, b = span()
            v, samples = rng.uniform(0, 100), []
            for k in range(a, b):
                v += rng.choice([0, 1, 2.5, 17])
                if gap and i % 9 == 4 and gap[0] <= k < gap[1]:
                    continue
                samples.append((times[k], v))
            series.append((f"{prefix}_requests_total",
                           {"job": f"j{i % 4}", "instance": f"host{i}", "code": code}, samples))
    fams.append((f"{prefix}_requests", "counter", series))

    series = []
    for i in range(gauges):
        a, b = span()
        scale = 10.0 ** rng.choice([-9, -6, -3, 0, 2, 5, 6, 9, 21])
        samples = []
        for k in range(a, b):
            x = rng.gauss(20, 5) * scale
            r = rng.random()
            if i % 10 == 0 and r < 0.02:
                x = float("nan")
            elif i % 10 == 0 and r < 0.03:
                x = float("inf") if r < 0.025 else float("-inf")
            elif i % 7 == 0:
                x = float(round(x))
            samples.append((times[k], x))
        series.append((f"{prefix}_temperature", {"job": f"j{i % 4}", "sensor": f"s{i}"}, samples))
    if fixed:
        series.append((f"{prefix}_temperature", {"job": "fixed", "sensor": "nan"},
                       [(times[k], float("nan") if k % 2 else 1.0) for k in range(steps)]))
        series.append((f"{prefix}_temperature", {"job": "fixed", "sensor": "inf"},
                       [(times[k], float("inf") if k % 2 else -float("inf"))
                        for k in range(steps)]))
    fams.append((f"{prefix}_temperature", "gauge", series))

    series = [(f"{prefix}_odd", dict(lb, job="odd"),
               [(times[k], float(k % 5 + j)) for k in range(0, steps, 3)])
              for j, lb in enumerate(ODD_LABELS)]
    fams.append((f"{prefix}_odd", "gauge", series))

    series = []
    for h in range(histograms):
        a, b = span()
        counts = [0] * len(le)
        total = 0.0
        per = {bound: [] for bound in le}
        cnt, sm = [], []
        for k in range(a, b):
            for _ in range(rng.randrange(0, 5)):
                x = rng.expovariate(3)
                total += x
                for j, bound in enumerate(le):
                    if bound == "+Inf" or x <= float(bound):
                        counts[j] += 1
            for j, bound in enumerate(le):
                per[bound].append((times[k], float(counts[j])))
            cnt.append((times[k], float(counts[-1])))
            sm.append((times[k], total))
        lb = {"job": "api", "handler": f"/h{h}"}
        for bound in le:
            series.append((f"{prefix}_latency_seconds_bucket", dict(lb, le=bound), per[bound]))
        series.append((f"{prefix}_latency_seconds_count", lb, cnt))
        series.append((f"{prefix}_latency_seconds_sum", lb, sm))
    fams.append((f"{prefix}_latency_seconds", "histogram", series))

    if not summaries:
        return fams
    series = []
    for s in range(summaries):
        lb = {"job": "rpc", "method": f"m{s}"}
        n, total = 0, 0.0
        qs = {q: [] for q in quantiles}
        cnt, sm = [], []
        for k in range(steps):
            n += 3
            total += rng.uniform(0, 3)
            for j, q in enumerate(quantiles):
                qs[q].append((times[k], rng.uniform(0, 1) * (j + 1)))
            cnt.append((times[k], float(n)))
            sm.append((times[k], total))
        for q in quantiles:
            series.append((f"{prefix}_rpc_seconds", dict(lb, quantile=q), qs[q]))
        series.append((f"{prefix}_rpc_seconds_count", lb, cnt))
        series.append((f"{prefix}_rpc_seconds_sum", lb, sm))
    fams.append((f"{prefix}_rpc_seconds", "summary", series))
    return fams


def write_openmetrics(path, fams, help_text=None):
    with open(path, "w") as f:
        for fam, typ, series in fams:
            if help_text:
                f.write(f"# HELP {fam} {help_text}\n")
            f.write(f"# TYPE {fam} {typ}\n")
            if typ in ("histogram", "summary"):
                # One metric point (every bucket or quantile, count, sum) per timestamp.
                groups = {}
                for name, lb, samples in series:
                    key = tuple(sorted((k, v) for k, v in lb.items() if k not in ("le", "quantile")))
                    groups.setdefault(key, []).append((name, lb, dict(samples)))
                for members in groups.values():
                    for t in sorted(members[0][2]):
                        for name, lb, samples in members:
                            labels = ",".join(f'{k}="{om_escape(v)}"' for k, v in lb.items())
                            f.write(f"{name}{{{labels}}} {om_float(samples[t])} {om_ts(t)}\n")
                continue
            for name, lb, samples in series:
                labels = ",".join(f'{k}="{om_escape(v)}"' for k, v in lb.items())
                for t, v in samples:
                    f.write(f"{name}{{{labels}}} {om_float(v)} {om_ts(t)}\n")
        f.write("# EOF\n")
