#!/usr/bin/env python3
"""tool_backfill.py - `prom-tool tsdb create-blocks-from openmetrics` against
Debian's `promtool` (Prometheus 2.42) on the same OpenMetrics file.

  tool_backfill.py <source dir> <build dir>

Generates an OpenMetrics file of about 500 series over 7 hours starting in
the middle of a 2 h block range (counters, gauges with values across many
magnitudes and NaN/+Inf/-Inf, a classic histogram, a summary, label values
with quotes, backslashes, newlines and UTF-8, series that start late, stop
early or have gaps), backfills it with both programs into two directories,
then checks:

  - the command's output: the same rows (block times, duration, samples,
    chunks, series), ULID and size aside;
  - `promtool tsdb list` of both: the same number of blocks with the same
    min/max time, samples, series and chunks; each block's size within 5 %,
    and the bytes per sample of the whole output within 5 % (printed);
  - `promtool tsdb dump` of both: identical;
  - Debian's prometheus started on a copy of our output answers a series
    count and exact values (counter, gauge, NaN, +Inf, histogram bucket, a
    value with escapes) at sample times in several blocks;
  - --max-block-duration (6 h blocks), -q, -r, output directory default
    and creation, input from a pipe: as promtool;
  - 3.x only (2.42 lacks them): --label on every series, le of a histogram
    and quantile of a summary rewritten as OpenMetrics floats ("1" -> "1.0");
  - errors, each with a clear message naming the line where there is one,
    exit status 1, and no block or temporary directory left by the failing
    step: missing "# EOF", a garbage line, a sample without timestamp, an
    out-of-order sample and a duplicate sample after a commit (upstream
    commits every 5000 samples; one out of order within a batch is dropped
    by both), a missing input file, --max-block-duration and --label syntax.
    A failure in a later window leaves the earlier windows' blocks, as
    promtool does.
"""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from om_data import families, om_escape, write_openmetrics  # noqa: E402
from harness import Run, check, find_tool, free_port, http, main  # noqa: E402

HOUR = 3_600_000
BASE_MS = 1_700_000_000_000 - 1_700_000_000_000 % (2 * HOUR) + 5_400_000  # 1h30 into a range
STEP_MS = 30_000
STEPS = 7 * 120  # 7 hours
LE = ["0.005", "0.01", "0.1", "1.0", "10.0", "+Inf"]  # already in 3.x's normalised form
QUANTILES = ["0.5", "0.9", "0.99"]


def gen(rng):
    """[(family, type, [(name, {labels}, [(t ms, value)])])]."""
    times = [BASE_MS + k * STEP_MS + rng.randrange(0, 1000) for k in range(STEPS)]
    return families(rng, "bf", times, counters=60, gauges=120, histograms=30, le=LE,
                    summaries=8, quantiles=QUANTILES, gap=(300, 420), fixed=True)


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


def blocks_of(d):
    out = []
    for b in sorted(os.listdir(d)):
        meta = os.path.join(d, b, "meta.json")
        if os.path.isfile(meta):
            out.append((b, json.load(open(meta))))
    return sorted(out, key=lambda x: x[1]["minTime"])


def listing(d):
    """`promtool tsdb list` rows: (min, max, duration, samples, chunks, series, size)."""
    p = run(["promtool", "tsdb", "list", d])
    check(p.returncode == 0, f"promtool tsdb list {os.path.basename(d)} ({p.stderr.strip()[:200]})")
    rows = [line.split() for line in p.stdout.splitlines()[1:]]
    return sorted((int(r[1]), int(r[2]), r[3], int(r[4]), int(r[5]), int(r[6]), int(r[7]))
                  for r in rows)


def output_rows(text):
    """The rows a backfill printed, ULID and size left out."""
    lines = text.splitlines()
    if not lines:
        return []
    head = lines[0]
    return [head] + [re.sub(r"^\S+ +(.*?) +\S+$", r"\1", x) for x in lines[1:]]


def dump(d):
    """promtool's dump of a copy of d (2.42 needs a wal/ and writes chunks_head/)."""
    c = d + ".dump"
    shutil.rmtree(c, ignore_errors=True)
    shutil.copytree(d, c)
    os.makedirs(os.path.join(c, "wal"), exist_ok=True)
    p = run(["promtool", "tsdb", "dump", c])
    check(p.returncode == 0, f"promtool tsdb dump {os.path.basename(d)} ({p.stderr.strip()[:200]})")
    shutil.rmtree(c)
    return p.stdout


def dir_size(d):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs)


def leftovers(d):
    """Entries of d that are not complete blocks (temporary directories)."""
    if not os.path.isdir(d):
        return []
    return [x for x in os.listdir(d) if not os.path.isfile(os.path.join(d, x, "meta.json"))]


def check_compare(tool, om, fams, tmp):
    ours, theirs = os.path.join(tmp, "ours"), os.path.join(tmp, "theirs")
    o = run([tool, "tsdb", "create-blocks-from", "openmetrics", om, ours])
    t = run(["promtool", "tsdb", "create-blocks-from", "openmetrics", om, theirs])
    check(o.returncode == 0 and t.returncode == 0 and o.stderr == "",
          f"both backfill {om} ({o.stderr.strip()[:300]} / {t.stderr.strip()[:300]})")
    check(output_rows(o.stdout) == output_rows(t.stdout) and len(o.stdout.splitlines()) > 3,
          f"the same {len(o.stdout.splitlines()) - 1} rows printed, ULID and size aside")
    for line in o.stdout.splitlines()[1:]:
        ulid = line.split()[0]
        check(os.path.isfile(os.path.join(ours, ulid, "meta.json")),
              f"printed block {ulid} is in the output directory")

    lo, lt = listing(ours), listing(theirs)
    check(len(lo) == len(lt) >= 4, f"{len(lo)} blocks each")
    for a, b in zip(lo, lt):
        check(a[:6] == b[:6], f"block {a[0]}..{a[1]}: the same times, {a[3]} samples, "
              f"{a[4]} chunks, {a[5]} series")
        check(abs(a[6] - b[6]) <= 0.05 * b[6], f"block {a[0]}: {a[6]} bytes, promtool's {b[6]}")
    samples = sum(r[3] for r in lo)
    want = sum(len(s) for _, _, series in fams for _, _, s in series)
    check(samples == want, f"the blocks hold all {want} samples")
    bo, bt = dir_size(ours) / samples, dir_size(theirs) / samples
    print(f"bytes per sample (whole output directory): prom-tool {bo:.3f}, promtool {bt:.3f}")
    co = sum(os.path.getsize(os.path.join(ours, b, "chunks", f))
             for b, _ in blocks_of(ours) for f in os.listdir(os.path.join(ours, b, "chunks")))
    ct = sum(os.path.getsize(os.path.join(theirs, b, "chunks", f))
             for b, _ in blocks_of(theirs) for f in os.listdir(os.path.join(theirs, b, "chunks")))
    print(f"bytes per sample (chunks only): prom-tool {co / samples:.3f}, "
          f"promtool {ct / samples:.3f}")
    check(abs(bo - bt) <= 0.05 * bt, "bytes per sample within 5 % of promtool's")
    for b, meta in blocks_of(ours):
        check(meta["compaction"]["level"] == 1 and meta["compaction"]["sources"] == [b]
              and meta["version"] == 1, f"block {b}: level 1, its own source")

    do, dt = dump(ours), dump(theirs)
    check(do == dt and do.count("\n") == want, f"promtool tsdb dump of both: identical "
          f"({do.count(chr(10))} lines)")
    check(leftovers(ours) == [], "nothing but blocks in our output directory")
    return ours


def check_prometheus(r, ours, fams):
    peer = os.path.join(r.tmp, "peer")
    shutil.copytree(ours, peer)
    cfg = os.path.join(r.tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1h\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    r.start("prometheus", ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={peer}",
                           f"--web.listen-address=127.0.0.1:{port}"],
            f"{url}/-/ready", timeout=90)

    def query(q, t):
        qs = urllib.parse.urlencode({"query": q, "time": f"{t / 1000:.3f}"})
        status, text = http(f"{url}/api/v1/query?{qs}")
        check(status == 200, f"prometheus answers {q} at {t} ({text[:200]})")
        return json.loads(text)["data"]["result"]

    def series(name, **want):
        for _, _, ss in fams:
            for n, lb, samples in ss:
                if n == name and all(lb.get(k) == v for k, v in want.items()):
                    return lb, samples
        raise AssertionError(f"no generated series {name} {want}")

    def sel(name, lb):
        inner = ",".join(f'{k}="{om_escape(v)}"' for k, v in sorted(lb.items()))
        return f"{name}{{{inner}}}"

    def prom_value(v):
        if v != v:
            return "NaN"
        if v in (float("inf"), float("-inf")):
            return "+Inf" if v > 0 else "-Inf"
        return v

    picks = [("bf_requests_total", {"instance": "host7", "code": "500"}),
             ("bf_temperature", {"sensor": "nan"}), ("bf_temperature", {"sensor": "inf"}),
             ("bf_latency_seconds_bucket", {"handler": "/h3", "le": "0.1"}),
             ("bf_rpc_seconds", {"method": "m2", "quantile": "0.99"}),
             ("bf_odd", {"mixed": '\\"\n\\n'}), ("bf_odd", {"uni": "température ✓"})]
    for name, want in picks:
        lb, samples = series(name, **want)
        for k in (0, len(samples) // 3, len(samples) // 2 + 1, len(samples) - 1):
            t, v = samples[k]
            res = query(sel(name, lb), t)
            got = res[0]["value"][1] if len(res) == 1 else None
            pv = prom_value(v)
            ok = got == pv if isinstance(pv, str) else got is not None and float(got) == pv
            check(ok, f"{sel(name, lb)} at {t}: {got}, written {pv}")
    t = BASE_MS + STEPS // 2 * STEP_MS + 5000
    live = sum(1 for _, _, ss in fams for _, _, s in ss
               if any(t - 300_000 < x <= t for x, _ in s))
    res = query('count({__name__=~"bf_.+"})', t)
    check(res and int(res[0]["value"][1]) == live, f"prometheus counts {live} series at {t}")


def check_flags(tool, om, tmp):
    # --max-block-duration (hidden upstream): 6 h blocks, as 2.42 makes them.
    a, b = os.path.join(tmp, "big-ours"), os.path.join(tmp, "big-theirs")
    o = run([tool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=13h", om, a])
    t = run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=13h",
             om, b])
    check(o.returncode == 0 == t.returncode and output_rows(o.stdout) == output_rows(t.stdout),
          "--max-block-duration=13h: the same rows as promtool")
    lo, lt = listing(a), listing(b)
    check([x[:6] for x in lo] == [x[:6] for x in lt]
          and all(x[1] - x[0] <= 6 * HOUR for x in lo) and any(x[1] - x[0] > 2 * HOUR for x in lo),
          f"--max-block-duration=13h: {len(lo)} blocks of up to 6 h, as promtool's")
    o = run([tool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=1h", om,
             os.path.join(tmp, "small")])
    check(o.returncode == 0 and all(x[1] - x[0] <= 2 * HOUR
                                    for x in listing(os.path.join(tmp, "small"))),
          "--max-block-duration below 2h is ignored")

    # -q, -r; flags before the subcommand's name, as kingpin takes them.
    o = run([tool, "tsdb", "create-blocks-from", "-q", "openmetrics", om, os.path.join(tmp, "q")])
    check(o.returncode == 0 and o.stdout == "" and blocks_of(os.path.join(tmp, "q")),
          "-q (given before 'openmetrics'): blocks written, nothing printed")
    o = run([tool, "tsdb", "create-blocks-from", "openmetrics", "-r", om, os.path.join(tmp, "r")])
    t = run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "-r", om,
             os.path.join(tmp, "r2")])
    norm = [re.sub(r"^\S+ +(.*?) +\S+$", r"\1", x) for x in o.stdout.splitlines()[1:]]
    want = [re.sub(r"^\S+ +(.*?) +\S+$", r"\1", x) for x in t.stdout.splitlines()[1:]]
    check(o.returncode == 0 and norm == want and "+0000 UTC" in o.stdout
          and re.search(r"KiB\d*B?$", o.stdout.splitlines()[1]),
          "-r: human readable times and sizes, as promtool")

    # Output directory: created with its parents; data/ by default.
    deep = os.path.join(tmp, "x", "y", "z")
    o = run([tool, "tsdb", "create-blocks-from", "openmetrics", om, deep])
    check(o.returncode == 0 and blocks_of(deep), "the output directory is created with parents")
    cwd = os.path.join(tmp, "cwd")
    os.makedirs(cwd)
    o = run([tool, "tsdb", "create-blocks-from", "openmetrics", om], cwd=cwd)
    check(o.returncode == 0 and blocks_of(os.path.join(cwd, "data")),
          "without an output directory: data/")

    # Input from a pipe.
    with open(om, "rb") as f:
        p = subprocess.run([tool, "tsdb", "create-blocks-from", "openmetrics", "/dev/stdin",
                            os.path.join(tmp, "pipe")], input=f.read(), capture_output=True)
    check(p.returncode == 0 and listing(os.path.join(tmp, "pipe"))[0][:6]
          == listing(os.path.join(tmp, "ours"))[0][:6], "input from a pipe")


def check_3x(tool, tmp):
    """What 3.x does and 2.42 does not: --label, le/quantile normalisation."""
    om = os.path.join(tmp, "norm.om")
    with open(om, "w") as f:
        f.write("# TYPE h histogram\n")
        for le in ("1", "2.50", "1e3", "+Inf"):
            f.write(f'h_bucket{{le="{le}"}} 1 100.000\n')
        f.write("# TYPE s summary\n")
        f.write('s{quantile="1"} 1 100.000\n')
        f.write("# TYPE g gauge\n")
        f.write('g{le="1",empty="",drop="x"} 1 100.000\n')
        f.write("# EOF\n")
    d = os.path.join(tmp, "norm")
    o = run([tool, "tsdb", "create-blocks-from", "openmetrics", "--label=site=a b",
             "--label", "job:batch", "--label=drop=", om, d])
    check(o.returncode == 0, f"--label given three times ({o.stderr.strip()[:200]})")
    got = dump(d)
    want = ['{__name__="g", job="batch", le="1", site="a b"} 1 100000',
            '{__name__="h_bucket", job="batch", le="+Inf", site="a b"} 1 100000',
            '{__name__="h_bucket", job="batch", le="1.0", site="a b"} 1 100000',
            '{__name__="h_bucket", job="batch", le="1000.0", site="a b"} 1 100000',
            '{__name__="h_bucket", job="batch", le="2.5", site="a b"} 1 100000',
            '{__name__="s", job="batch", quantile="1.0", site="a b"} 1 100000']
    check(got.splitlines() == want, "labels added (name=value and name:value), an empty one "
          "removed, empty values dropped, le and quantile in OpenMetrics form: "
          f"{got.splitlines()}")


def check_errors(tool, tmp, om):
    def both(name, text, want_ours, same_blocks=True):
        path = os.path.join(tmp, name + ".om")
        open(path, "w").write(text)
        a, b = os.path.join(tmp, name + "-ours"), os.path.join(tmp, name + "-theirs")
        o = run([tool, "tsdb", "create-blocks-from", "openmetrics", path, a])
        t = run(["promtool", "tsdb", "create-blocks-from", "openmetrics", path, b])
        check(o.returncode == 1 and t.returncode == 1, f"{name}: both exit 1 "
              f"({t.stderr.strip()[:200]})")
        check(re.fullmatch(want_ours.replace("FILE", re.escape(path)), o.stderr.strip()),
              f"{name}: {o.stderr.strip()}")
        check(leftovers(a) == [], f"{name}: no temporary directory left ({leftovers(a)})")
        if same_blocks:
            la = listing(a) if os.path.isdir(a) else []
            lb = listing(b) if os.path.isdir(b) else []
            check([x[:6] for x in la] == [x[:6] for x in lb],
                  f"{name}: the same {len(la)} complete blocks left as promtool leaves")
        return o

    both("noeof", 'a{x="1"} 1 100\na{x="1"} 2 200\n',
         r'getting min and max timestamp: next: FILE:3:1: "# EOF" missing at the end')
    both("garbage", 'a{x="1"} 1 100\na{x="1"} 2 200\ngarbage here\n# EOF\n',
         r'getting min and max timestamp: next: FILE:3:9: .*"here".*')
    both("nots", 'a{x="1"} 1 100\nb{x="2"} 2\n# EOF\n',
         r"getting min and max timestamp: expected timestamp for series got none \(FILE:2\)")
    # Out of order after a commit: 5001 samples, then one older than the
    # committed ones; the same within a batch is dropped by both.
    lines = [f'a{{x="1"}} {i} {7200 + i}\n' for i in range(5001)]
    both("ooo", "".join(lines) + 'a{x="1"} 7 7210\n# EOF\n',
         r'block creation: process blocks: add sample: out of order sample \(FILE:5002: series '
         r'\{__name__="a", x="1"\} at 7210000, older than its sample at 12199000\)')
    both("dup", "".join(lines) + 'a{x="1"} 7 12199\n# EOF\n',
         r"block creation: process blocks: add sample: duplicate sample for timestamp 12199000; "
         r'overrides not allowed: existing 4999, new value 7 \(FILE:5002: series '
         r'\{__name__="a", x="1"\} at 12199000\)')
    # In the third window: the blocks of the first two stay, as promtool's.
    o = both("ooo-late", 'b 1 100\nb 2 7300\n' + "".join(
        f'a{{x="1"}} {i} {14400 + i}\n' for i in range(5001)) + 'a{x="1"} 7 14410\n# EOF\n',
        r"block creation: process blocks: add sample: out of order sample \(FILE:5004: .*\)")
    check(o.stdout.count("\n") == 3, "ooo-late: the two blocks written are printed")
    within = os.path.join(tmp, "within.om")
    open(within, "w").write('a{x="1"} 1 100\na{x="1"} 2 50\na{x="1"} 3 100\n# EOF\n')
    o = run([tool, "tsdb", "create-blocks-from", "openmetrics", within, os.path.join(tmp, "w")])
    check(o.returncode == 0 and dump(os.path.join(tmp, "w")) == '{__name__="a", x="1"} 1 100000\n',
          "out of order and repeated samples within one commit: dropped, as promtool")

    missing = os.path.join(tmp, "missing.om")
    o = run([tool, "tsdb", "create-blocks-from", "openmetrics", missing, os.path.join(tmp, "m")])
    check(o.returncode == 1 and o.stderr == f"stat {missing}: no such file or directory\n"
          and not os.path.exists(os.path.join(tmp, "m")),
          f"a missing input: 3.x's stat error, nothing created ({o.stderr.strip()})")
    for flag, msg in (("--max-block-duration=3d", 'time: unknown unit "d" in duration "3d"'),
                      ("--max-block-duration=abc", 'time: invalid duration "abc"'),
                      ("--max-block-duration=5", 'time: missing unit in duration "5"')):
        o = run([tool, "tsdb", "create-blocks-from", "openmetrics", flag, om, os.path.join(tmp, "m")])
        t = run(["promtool", "tsdb", "create-blocks-from", "openmetrics", flag, om,
                 os.path.join(tmp, "m")])
        check(o.returncode == 1 == t.returncode
              and o.stderr == f"prom-tool: error: {msg}, try --help\n"
              and t.stderr == f"promtool: error: {msg}, try --help\n",
              f"{flag}: kingpin's message, as promtool's")
    o = run([tool, "tsdb", "create-blocks-from", "openmetrics", "--label=site", om,
             os.path.join(tmp, "m")])
    check(o.returncode == 1 and o.stderr == "prom-tool: error: expected KEY=VALUE got 'site', "
          "try --help\n", "--label without a value: kingpin's message")
    o = run([tool, "tsdb", "create-blocks-from", "openmetrics"])
    check(o.returncode == 1 and "required argument 'input file' not provided" in o.stderr,
          "no input file: kingpin's message")
    o = run([tool, "tsdb", "create-blocks-from"])
    check(o.returncode == 1 and "must select a subcommand of 'tsdb create-blocks-from'" in o.stderr,
          "no subcommand: kingpin's message")


def body():
    build = sys.argv[2]
    tool = find_tool(build, "prom-tool")
    with Run("tool-backfill") as r:
        fams = gen(random.Random(20240612))
        om = os.path.join(r.tmp, "input.om")
        write_openmetrics(om, fams, "Generated for the backfill test.")
        nseries = sum(len(s) for _, _, s in fams)
        check(nseries >= 400, f"{nseries} series over {STEPS * STEP_MS // HOUR} h "
              f"({os.path.getsize(om)} bytes)")
        ours = check_compare(tool, om, fams, r.tmp)
        check_prometheus(r, ours, fams)
        check_flags(tool, om, r.tmp)
        check_3x(tool, r.tmp)
        check_errors(tool, r.tmp, om)
    print("PASS")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    main(body)
