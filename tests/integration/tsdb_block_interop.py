#!/usr/bin/env python3
"""tsdb_block_interop.py - our block opener (meta.json, chunks, index,
tombstones) against the blocks of Debian's promtool (Prometheus 2.42).

  tsdb_block_interop.py <source dir> <build dir>

Generates an OpenMetrics file of a few hundred series spread over more than
one 2 h block, has `promtool tsdb create-blocks-from openmetrics` build blocks
from it, and opens each block with tsdb_block_dump:

  - the meta fields we read (ulid, minTime, maxTime, stats, compaction level,
    sources, parents, version) equal those of meta.json parsed by Python;
  - numSeries, numChunks and numSamples in the meta equal what our index and
    chunk readers find in the block, and numSamples over all blocks equals the
    number of samples generated;
  - every block's minTime/maxTime lie on the generated samples' range;
  - rewriting meta.json and tombstones through our writers gives promtool's
    bytes;
  - a damaged meta.json or tombstones file makes the opener fail cleanly.

Every process started is stopped by pid; logs are printed on failure.
"""
import json
import os
import random
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Run, check, find_tool, main  # noqa: E402

BASE_MS = 1_700_000_000_000
STEP_MS = 30_000
SAMPLES = 400  # 200 minutes: at least two 2 h blocks


def gen_series(rng):
    """{(name, labels text): [(t ms, value)]}."""
    series = {}
    for fam in range(3):
        for i in range(60):
            start = rng.randrange(0, 40) * STEP_MS
            n = rng.randrange(SAMPLES // 2, SAMPLES)
            samples = [(BASE_MS + start + k * STEP_MS + rng.randrange(-500, 500),
                        round(rng.uniform(-1e3, 1e3), 3)) for k in range(n)]
            series[(f"block_metric_{fam}", f'job="j{i % 4}",uid="{i}"')] = samples
    return series


def write_openmetrics(path, series):
    with open(path, "w") as f:
        for fam in sorted({name for name, _ in series}):
            f.write(f"# TYPE {fam} gauge\n")
            for (name, labels), samples in series.items():
                if name != fam:
                    continue
                for t, v in samples:
                    f.write(f"{name}{{{labels}}} {v!r} {t // 1000}.{t % 1000:03d}\n")
        f.write("# EOF\n")


def run_dump(dump, *args):
    return subprocess.run([dump, *args], capture_output=True, text=True)


def check_block(dump, block):
    name = os.path.basename(block)
    p = run_dump(dump, "block", block)
    check(p.returncode == 0, f"{name}: our opener opens and verifies it ({p.stderr.strip()[:400]})")
    got = json.loads(p.stdout)
    want = json.load(open(os.path.join(block, "meta.json")))
    stats = {k: want.get("stats", {}).get(k, 0)
             for k in ("numSamples", "numSeries", "numChunks", "numTombstones")}
    comp = want.get("compaction", {})
    parents = [[q["ulid"], q["minTime"], q["maxTime"]] for q in comp.get("parents", [])]
    check(got["ulid"] == want["ulid"] == name, f"{name}: ulid {got['ulid']}")
    check((got["minTime"], got["maxTime"]) == (want["minTime"], want["maxTime"]),
          f"{name}: minTime {got['minTime']} maxTime {got['maxTime']}")
    check(got["stats"] == stats, f"{name}: stats {got['stats']}")
    check(got["level"] == comp.get("level") and got["sources"] == comp.get("sources", [])
          and got["parents"] == parents,
          f"{name}: compaction level {got['level']}, sources {got['sources']}")
    check(got["version"] == want["version"] == 1, f"{name}: version 1")
    counted = got["counted"]
    check(all(counted[k] == stats[k] for k in ("numSeries", "numChunks", "numSamples")),
          f"{name}: index and chunks hold the meta's {stats['numSeries']} series, "
          f"{stats['numChunks']} chunks, {stats['numSamples']} samples (counted {counted})")
    check(got["metaSize"] == os.path.getsize(os.path.join(block, "meta.json")),
          f"{name}: meta.json size {got['metaSize']}")
    return got


def check_rewrite(dump, block, tmp):
    name = os.path.basename(block)
    out = os.path.join(tmp, "rewrite-" + name)
    os.makedirs(out)
    p = run_dump(dump, "rewrite", block, out)
    check(p.returncode == 0, f"{name}: rewrite ({p.stderr.strip()[:300]})")
    for f in ("meta.json", "tombstones"):
        a = open(os.path.join(block, f), "rb").read()
        b = open(os.path.join(out, f), "rb").read()
        check(a == b, f"{name}: our {f} is byte-identical to promtool's ({len(a)} bytes)")
    check(sorted(os.listdir(out)) == ["meta.json", "tombstones"], f"{name}: no .tmp file left")


def check_damage(dump, block, tmp):
    name = os.path.basename(block)
    bad = os.path.join(tmp, "damaged-" + name)
    cases = [
        ("meta.json", lambda b: b[: len(b) // 2], "truncated meta.json"),
        ("meta.json", lambda b: b.replace(b'"version": 1', b'"version": 2'), "meta version 2"),
        ("meta.json", lambda b: b.replace(b'"minTime": ', b'"minTime": "x'), "minTime a string"),
        ("tombstones", lambda b: b[:-1], "truncated tombstones"),
        ("tombstones", lambda b: b[:4] + b"\x02" + b[5:], "tombstones version 2"),
        ("tombstones", lambda b: b[:5] + b"\x01\x02\x04" + b[5:], "tombstones CRC mismatch"),
    ]
    for f, damage, what in cases:
        shutil.rmtree(bad, ignore_errors=True)
        shutil.copytree(block, bad)
        path = os.path.join(bad, f)
        data = open(path, "rb").read()
        open(path, "wb").write(damage(data))
        p = run_dump(dump, "block", bad)
        check(p.returncode == 1 and f in p.stderr,
              f"{name}: {what}: a clean error naming {f} ({p.stderr.strip()[:200]})")


def body():
    build = sys.argv[2]
    dump = find_tool(build, "tsdb_block_dump")
    with Run("tsdb-block") as run:
        series = gen_series(random.Random(20240603))
        om = os.path.join(run.tmp, "input.om")
        write_openmetrics(om, series)
        out = os.path.join(run.tmp, "blocks")
        p = run.start("promtool", ["promtool", "tsdb", "create-blocks-from", "openmetrics", om,
                                   out])
        rc = p.wait()
        run.stop(p)
        check(rc == 0, f"promtool create-blocks-from openmetrics exited {rc}")
        blocks = sorted(os.path.join(out, b) for b in os.listdir(out)
                        if os.path.isfile(os.path.join(out, b, "meta.json")))
        check(len(blocks) >= 2, f"promtool made {len(blocks)} blocks")
        total = 0
        ts = [t for s in series.values() for t, _ in s]
        for block in blocks:
            got = check_block(dump, block)
            total += got["counted"]["numSamples"]
            check(got["minTime"] >= min(ts) and got["maxTime"] <= max(ts) + 1,
                  f"{os.path.basename(block)}: time range within the generated samples'")
            check_rewrite(dump, block, run.tmp)
        want = sum(map(len, series.values()))
        check(total == want, f"the blocks hold all {want} generated samples ({total})")
        check_damage(dump, blocks[0], run.tmp)
    print("PASS")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    main(body)
