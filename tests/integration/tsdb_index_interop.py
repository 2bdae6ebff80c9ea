#!/usr/bin/env python3
"""tsdb_index_interop.py - our block index reader and writer against the
index files of Debian's promtool (Prometheus 2.42).

  tsdb_index_interop.py <source dir> <build dir>

Generates an OpenMetrics file of a few hundred series with several labels
(odd values included: spaces, quotes, backslashes, UTF-8) spread over more
than one 2 h block, has `promtool tsdb create-blocks-from openmetrics` build
blocks from it, and reads each block with tsdb_index_dump:

  - every series in an index carries exactly the labels of a generated one,
    and every generated series is found;
  - the postings list of every name=value pair (and the all-series list)
    holds exactly the series of that block carrying the pair;
  - the label names are those of the series;
  - each series' chunk metas lead, through our chunk reader, to chunks whose
    samples lie within [mint, maxt] and, over all blocks, are exactly that
    series' generated samples;
  - rewriting each index through our writer gives the same bytes.

Every process started is stopped by pid; logs are printed on failure.
"""
import json
import os
import random
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Run, check, find_tool, main  # noqa: E402

BASE_MS = 1_700_000_000_000
STEP_MS = 30_000
SAMPLES = 400  # 200 minutes: at least two 2 h blocks


def bits(v):
    return struct.unpack("<Q", struct.pack("<d", v))[0]


def om_escape(v):
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def gen_series(rng):
    """{labels tuple (sorted pairs): [(t ms, value)]}."""
    odd = ["a b", 'quo"te', "back\\slash", "üñí", "x=y,z", ""]
    series = {}
    for fam in range(4):
        name = f"interop_metric_{fam}"
        for i in range(75):
            labels = {"__name__": name, "job": f"job{i % 3}", "instance": f"host{i % 25}:9100"}
            if i % 2:
                labels["zone"] = f"z{i % 4}"
            if i % 5 == 0 and odd[i // 5 % len(odd)]:
                labels["odd"] = odd[i // 5 % len(odd)]
            labels["shard"] = str(i)
            start = rng.randrange(0, 40) * STEP_MS
            n = rng.randrange(SAMPLES // 2, SAMPLES)
            samples = [(BASE_MS + 7 + start + k * STEP_MS + rng.randrange(-500, 500),
                        round(rng.uniform(-1e3, 1e3), rng.randrange(0, 6)))
                       for k in range(n)]
            series[tuple(sorted(labels.items()))] = samples
    return series


def write_openmetrics(path, series):
    with open(path, "w") as f:
        fams = sorted({dict(ls)["__name__"] for ls in series})
        for fam in fams:
            f.write(f"# TYPE {fam} gauge\n")
            for ls, samples in series.items():
                if dict(ls)["__name__"] != fam:
                    continue
                text = ",".join(f'{n}="{om_escape(v)}"' for n, v in ls if n != "__name__")
                for t, v in samples:
                    f.write(f"{fam}{{{text}}} {v!r} {t // 1000}.{t % 1000:03d}\n")
        f.write("# EOF\n")


def read_block(dump, block):
    p = subprocess.run([dump, "block", block], capture_output=True, text=True)
    check(p.returncode == 0, f"tsdb_index_dump reads {os.path.basename(block)} "
          f"({p.stderr.strip()[:500]})")
    names, postings, series = None, {}, []
    for line in p.stdout.splitlines():
        obj = json.loads(line)
        if "names" in obj:
            names = obj["names"]
        elif "refs" in obj:
            postings[(obj["name"], obj["value"])] = obj["refs"]
        else:
            series.append(obj)
    return names, postings, series


def check_postings(block, names, postings, series, want):
    refs_of = {}
    for s in series:
        for n, v in s["labels"]:
            refs_of.setdefault((n, v), []).append(s["ref"])
    refs_of[("", "")] = [s["ref"] for s in series]
    check(postings == refs_of, f"{block}: {len(postings)} postings lists each list exactly "
          "the series carrying the pair")
    check(names == sorted({n for n, _ in refs_of if n}, key=lambda s: s.encode()),
          f"{block}: label names {names}")
    labelsets = [tuple(tuple(p) for p in s["labels"]) for s in series]
    check(all(ls in want for ls in labelsets) and len(set(labelsets)) == len(labelsets),
          f"{block}: all {len(series)} series carry exactly the labels of a generated one")


def collect_samples(block, series, got):
    for s in series:
        ls = tuple(tuple(p) for p in s["labels"])
        for mint, maxt, ref, samples in s["chunks"]:
            ts = [t for t, _ in samples]
            if not samples or ts[0] != mint or ts[-1] != maxt:
                raise AssertionError(f"{block}: series {ls} chunk {ref}: mint {mint} maxt {maxt}, "
                                     f"samples {ts[:1]}..{ts[-1:]}")
            got.setdefault(ls, []).extend((t, v) for t, v in samples)


def check_rewrite(dump, block, tmp):
    out = os.path.join(tmp, os.path.basename(block) + ".index")
    p = subprocess.run([dump, "rewrite", os.path.join(block, "index"), out],
                       capture_output=True, text=True)
    check(p.returncode == 0, f"rewrite of {os.path.basename(block)} ({p.stderr.strip()[:300]})")
    a = open(os.path.join(block, "index"), "rb").read()
    b = open(out, "rb").read()
    first = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
    where = "" if a == b else f"; {len(b)} bytes, first difference at {first}"
    check(a == b, f"{os.path.basename(block)}: our writer's index is byte-identical to "
          f"promtool's ({len(a)} bytes{where})")


def body():
    build = sys.argv[2]
    dump = find_tool(build, "tsdb_index_dump")
    with Run("tsdb-index") as run:
        series = gen_series(random.Random(20240602))
        want = {ls: [(t, bits(v)) for t, v in s] for ls, s in series.items()}
        om = os.path.join(run.tmp, "input.om")
        write_openmetrics(om, series)
        out = os.path.join(run.tmp, "blocks")
        p = run.start("promtool", ["promtool", "tsdb", "create-blocks-from", "openmetrics", om,
                                   out])
        rc = p.wait()
        run.stop(p)
        check(rc == 0, f"promtool create-blocks-from openmetrics exited {rc}")
        blocks = sorted(os.path.join(out, b) for b in os.listdir(out)
                        if os.path.isfile(os.path.join(out, b, "index")))
        check(len(blocks) >= 2, f"promtool made {len(blocks)} blocks")
        got = {}
        for block in blocks:
            names, postings, found = read_block(dump, block)
            check_postings(os.path.basename(block), names, postings, found, want)
            collect_samples(os.path.basename(block), found, got)
            check_rewrite(dump, block, run.tmp)
        for ls in got:
            got[ls].sort()
        check(set(got) == set(want), f"all {len(want)} generated series found across the blocks")
        bad = [ls for ls in want if got[ls] != want[ls]]
        check(not bad, f"every series' chunks hold exactly its {sum(map(len, want.values()))} "
              f"generated samples ({len(bad)} differ{': ' + str(bad[:1]) if bad else ''})")
    print("PASS")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    main(body)
