#!/usr/bin/env python3
"""tsdb_chunks_interop.py - our chunk readers and XOR encoder against the real
Prometheus 2.42 (Debian's promtool and prometheus).

  tsdb_chunks_interop.py <source dir> <build dir>

Part 1, block chunk files: generates an OpenMetrics file (counters, jittered
random walks, every special float, millisecond-dense and hour-sparse series),
has `promtool tsdb create-blocks-from openmetrics` build blocks from it, and
decodes every chunk of every block's chunks/ segment files with
tsdb_chunks_dump.  Reading the index is out of scope, so each chunk is matched
to the generated data by its samples: it must be a contiguous run of exactly
one generated series, and the chunks together must hold every generated
sample exactly once.  Every chunk must also re-encode to the same bytes.

Part 2, head chunk files: runs prometheus scraping itself every 100 ms until
its head has cut a chunk for most series (about 15 s, at most 90 s), stops it
with SIGTERM (which flushes chunks_head/), and decodes
every record there: CRC, mint/maxt equal to the first and last sample,
timestamps in order, and again byte-identical re-encoding.

Every process started is stopped by pid; logs are printed on failure.
"""
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import find_tool  # noqa: E402
import urllib.parse
import urllib.request
import json

GO_NAN = 0x7FF8000000000001  # what Go's strconv.ParseFloat("NaN") returns


def fail(msg, logs=()):
    print("FAIL:", msg)
    for name in logs:
        if os.path.exists(name):
            print(f"---- {name}")
            with open(name, errors="replace") as f:
                print(f.read()[-20000:])
    sys.exit(1)


def bits(v):
    if v != v:
        return GO_NAN
    return struct.unpack("<Q", struct.pack("<d", v))[0]


def fmt_value(v):
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)


# ---- Part 1: blocks built by promtool

def gen_series(rng):
    """name -> list of (timestamp text, value); timestamps in seconds."""
    base = 1_700_000_000_000
    series = {}

    def add(name, ts_ms, values):
        series[name] = [(f"{t // 1000}.{t % 1000:03d}", v) for t, v in zip(ts_ms, values)]

    ts = [base + 15000 * i for i in range(2000)]
    vals, v = [], 0.0
    for _ in ts:
        v += rng.randrange(0, 5)
        vals.append(v)
    add("interop_counter_total", ts, vals)

    ts, t = [], base + 7
    vals, v = [], 100.0
    for _ in range(3000):
        t += 10000 + rng.randrange(-50, 51)
        ts.append(t)
        v += rng.uniform(-1, 1)
        vals.append(v)
    add("interop_walk", ts, vals)

    specials = [float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 5e-324,
                1.7976931348623157e308, 2.2250738585072014e-308, 1.0,
                1.0000000000000002, -1.5, 1e-300, 123456789.123456789]
    ts, t, vals = [], base, []
    for i in range(600):
        t += 30000 if rng.random() < 0.95 else rng.randrange(60000, 3_600_000)
        ts.append(t)
        vals.append(specials[i % len(specials)] if i % 3 else rng.choice(specials))
    add("interop_specials", ts, vals)

    ts, t = [], base + 1234
    for _ in range(5000):
        t += rng.randrange(1, 8)
        ts.append(t)
    add("interop_dense", ts, [float(i % 17) for i in range(5000)])

    steps = [1000, 60000, 1_020_000, 3_600_000, 15000, 15001, 14999, 524_300, 70_000]
    ts, t = [], base
    for _ in range(400):
        t += rng.choice(steps)
        ts.append(t)
    add("interop_gaps", ts, [rng.uniform(-1e6, 1e6) for _ in ts])

    add("interop_constant", [base + 15000 * i for i in range(1000)], [42.0] * 1000)
    return series


def expected_samples(series):
    """name -> list of (t ms, value bits), as promtool computes them."""
    out = {}
    for name, samples in series.items():
        out[name] = [(int(float(ts) * 1000), bits(v)) for ts, v in samples]
    return out


def write_openmetrics(path, series):
    with open(path, "w") as f:
        for name, samples in series.items():
            kind = "counter" if name.endswith("_total") else "gauge"
            family = name[: -len("_total")] if kind == "counter" else name
            f.write(f"# TYPE {family} {kind}\n")
            for ts, v in samples:
                f.write(f'{name}{{job="interop"}} {fmt_value(v)} {ts}\n')
        f.write("# EOF\n")


def parse_dump(text, head):
    """Chunks as dicts: header fields and the list of (t, bits)."""
    chunks = []
    for line in text.splitlines():
        parts = line.split()
        if parts[0] == "chunk":
            c = {"ref": int(parts[1]), "enc": int(parts[2]), "samples": []}
            if head:
                c["series"], c["mint"], c["maxt"] = map(int, parts[3:6])
                parts = parts[3:]
            c["count"], c["same"] = int(parts[3]), parts[4] == "same"
            chunks.append(c)
        else:
            chunks[-1]["samples"].append((int(parts[0]), int(parts[1], 16)))
    return chunks


def run_dump(dump, kind, path, logs=()):
    p = subprocess.run([dump, kind, path], capture_output=True, text=True)
    if p.returncode != 0:
        fail(f"tsdb_chunks_dump {kind} {path}: {p.stderr.strip()}", logs)
    return parse_dump(p.stdout, kind == "head")


def locate(chunk, expected, index):
    """The series whose samples contain the chunk's as a contiguous run."""
    first = chunk["samples"][0]
    for name, positions in index.get(first, {}).items():
        for pos in positions:
            n = len(chunk["samples"])
            if expected[name][pos:pos + n] == chunk["samples"]:
                return name, pos
    return None, None


def check_blocks(dump, tmp):
    rng = random.Random(20240601)
    series = gen_series(rng)
    expected = expected_samples(series)
    om = os.path.join(tmp, "input.om")
    write_openmetrics(om, series)
    out = os.path.join(tmp, "blocks")
    log = os.path.join(tmp, "promtool.log")
    with open(log, "w") as lf:
        rc = subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", om, out],
                            stdout=lf, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        fail(f"promtool exited {rc}", [log])

    index = {}
    for name, samples in expected.items():
        for pos, s in enumerate(samples):
            index.setdefault(s, {}).setdefault(name, []).append(pos)
    covered = {name: [0] * len(s) for name, s in expected.items()}
    nblocks = nchunks = nsame = 0
    for block in sorted(os.listdir(out)):
        chunks_dir = os.path.join(out, block, "chunks")
        if not os.path.isdir(chunks_dir):
            continue
        nblocks += 1
        for c in run_dump(dump, "block", chunks_dir, [log]):
            nchunks += 1
            nsame += c["same"]
            if c["enc"] != 1 or c["count"] != len(c["samples"]) or not c["samples"]:
                fail(f"block {block} chunk {c['ref']}: encoding {c['enc']}, "
                     f"{len(c['samples'])} of {c['count']} samples")
            name, pos = locate(c, expected, index)
            if name is None:
                fail(f"block {block} chunk {c['ref']}: samples match no generated series: "
                     f"{c['samples'][:3]}...")
            for i in range(pos, pos + len(c["samples"])):
                covered[name][i] += 1
    for name, marks in covered.items():
        bad = [i for i, m in enumerate(marks) if m != 1]
        if bad:
            fail(f"{name}: {len(bad)} samples not decoded exactly once (first at {bad[0]}: "
                 f"{expected[name][bad[0]]}, seen {marks[bad[0]]} times)")
    if nsame != nchunks:
        fail(f"{nchunks - nsame} of {nchunks} chunks re-encode to different bytes")
    total = sum(len(s) for s in expected.values())
    print(f"blocks: {nblocks} blocks, {nchunks} chunks, {total} samples of {len(expected)} "
          f"series decoded exactly once; {nsame}/{nchunks} chunks byte-identical on re-encoding")


# ---- Part 2: a running prometheus's chunks_head/

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, proc, logs):
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            fail(f"prometheus exited with {proc.returncode}", logs)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    fail("prometheus did not become ready", logs)


def query(port, expr):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return json.load(r)["data"]["result"]
    except OSError:
        return []


def wait_chunks_cut(port, proc, logs):
    """Waits until the head has made more chunks than it has series (so full
    chunks were cut and handed to the chunk disk mapper)."""
    expr = "prometheus_tsdb_head_chunks_created_total > 1.5 * prometheus_tsdb_head_series"
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            fail(f"prometheus exited with {proc.returncode}", logs)
        if query(port, expr):
            return
        time.sleep(0.5)
    fail("prometheus cut no head chunks in 90 s", logs)


def run_prometheus(tmp):
    port = free_port()
    data = os.path.join(tmp, "data")
    config = os.path.join(tmp, "prometheus.yml")
    log = os.path.join(tmp, "prometheus.log")
    with open(config, "w") as f:
        f.write("global:\n  scrape_interval: 100ms\n  scrape_timeout: 100ms\n"
                "scrape_configs:\n  - job_name: self\n    static_configs:\n"
                f"      - targets: ['127.0.0.1:{port}']\n")
    with open(log, "w") as lf:
        proc = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={data}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=lf, stderr=subprocess.STDOUT, cwd=tmp)
    try:
        wait_ready(port, proc, [log])
        wait_chunks_cut(port, proc, [log])
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            fail("prometheus did not stop on SIGTERM", [log])
    return os.path.join(data, "chunks_head"), log


def check_head(dump, tmp):
    head_dir, log = run_prometheus(tmp)
    chunks = run_dump(dump, "head", head_dir, [log])
    if not chunks:
        fail(f"no head chunks in {head_dir}: {os.listdir(head_dir)}", [log])
    series = set()
    for c in chunks:
        ts = [t for t, _ in c["samples"]]
        where = f"head chunk {c['ref']} of series {c['series']}"
        if c["enc"] != 1 or c["count"] != len(ts) or not ts:
            fail(f"{where}: encoding {c['enc']}, {len(ts)} of {c['count']} samples")
        if ts[0] != c["mint"] or ts[-1] != c["maxt"] or ts != sorted(ts):
            fail(f"{where}: mint {c['mint']} maxt {c['maxt']}, samples from {ts[0]} to {ts[-1]}")
        if not c["same"]:
            fail(f"{where}: re-encoding gives different bytes")
        series.add(c["series"])
    samples = sum(len(c["samples"]) for c in chunks)
    stale = sum(1 for c in chunks for _, v in c["samples"] if v == 0x7FF0000000000002)
    print(f"head: {len(chunks)} chunks of {len(series)} series, {samples} samples "
          f"({stale} staleness markers) decoded; all byte-identical on re-encoding")


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    dump = find_tool(sys.argv[2], "tsdb_chunks_dump")
    for tool in ("promtool", "prometheus"):
        if not shutil.which(tool):
            fail(f"{tool} is not installed")
    tmp = tempfile.mkdtemp(prefix="tsdb-interop-")
    try:
        check_blocks(dump, tmp)
        check_head(dump, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
