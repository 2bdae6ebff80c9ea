#!/usr/bin/env python3
"""tsdb_crash.py - SIGKILL at random moments while our TSDB appends, commits,
compacts and checkpoints; nothing committed is lost.

  tsdb_crash.py <source dir> <build dir>

Each round starts tsdb_db_tool writing 200 series at 15 s from just after the
last sample known to be committed (it prints a line after each commit) over a
span long enough that the head is cut into blocks and the WAL checkpointed
several times, and kills it with SIGKILL after a random delay.  The next
round's open replays the WAL (repairing a torn tail) before appending again.
After 24 rounds:

  - every series holds every sample from the first through the last one
    known committed, with the values written, and nothing else (a sample that
    was committed but whose line was not printed yet is kept too: it has the
    next timestamp);
  - Debian's `promtool tsdb analyze` reads the directory without error;
  - no two blocks overlap in time, the level-1 blocks were merged into
    larger ones (upstream's leveled compaction), each within its level's
    range.
"""
import json
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Run, check, find_tool, main  # noqa: E402

NSERIES = 200
STEP = 15_000
SPAN = 2000 * 3600_000  # more than a round can write before it is killed
ROUNDS = 24


def body():
    build = sys.argv[2]
    tool = find_tool(build, "tsdb_db_tool")
    rng = random.Random(4242)
    start = 1_700_000_000_000 // 7200_000 * 7200_000
    committed = None
    killed_mid = 0
    mid_write = 0
    with Run("tsdb-crash") as run:
        data = os.path.join(run.tmp, "data")
        for r in range(ROUNDS):
            frm = start if committed is None else committed + STEP
            argv = [tool, "write", data, str(NSERIES), str(frm), str(frm + SPAN), str(STEP),
                    "--compact", f"--retention-ms={100 * 365 * 86400_000}"]
            if r % 3 == 1:
                argv.append("--wal-compression=zstd")
            out = open(os.path.join(run.tmp, f"round{r}.out"), "w+")
            p = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE, text=True)
            time.sleep(rng.uniform(0.02, 0.4))
            p.kill()
            _, err = p.communicate()
            check(p.returncode in (0, -9), f"round {r}: the writer ran until killed "
                  f"(exit {p.returncode}: {err.strip()[-300:]})")
            killed_mid += p.returncode == -9
            mid_write += any(d.endswith(".tmp-for-creation") for d in os.listdir(data)) \
                if os.path.isdir(data) else 0
            out.seek(0)
            lines = [ln.split() for ln in out.read().splitlines()]
            done = [int(ln[1]) for ln in lines if len(ln) == 2 and ln[0] == "committed"]
            if done:
                committed = max(done)
        check(killed_mid == ROUNDS, f"{killed_mid} of {ROUNDS} rounds were killed mid-run")
        check(committed is not None and committed - start > 48 * 3600_000,
              f"{(committed - start) // 3600_000} hours of data were committed")

        p = subprocess.run([tool, "check", data, str(NSERIES), str(start), str(committed),
                            str(STEP)], capture_output=True, text=True)
        check(p.returncode == 0, f"every committed sample is there: {p.stdout.strip()} "
              f"{p.stderr.strip()[:600]}")

        p = subprocess.run(["promtool", "tsdb", "analyze", data], capture_output=True, text=True)
        check(p.returncode == 0, f"promtool tsdb analyze reads the directory "
              f"({p.stderr.strip()[:300]})")
        metas = []
        for b in os.listdir(data):
            path = os.path.join(data, b, "meta.json")
            if os.path.isfile(path):
                metas.append(json.load(open(path)))
        metas.sort(key=lambda m: m["minTime"])
        # Level-1 blocks are merged as they age (6h, 18h, 54h, ... up to the
        # max block duration, 31d here): count what was cut through the
        # merged blocks' sources.
        cut = sum(len(m["compaction"]["sources"]) for m in metas)
        check(cut >= 10, f"{cut} blocks were cut, now in {len(metas)} blocks")
        top = max(m["compaction"]["level"] for m in metas)
        check(top >= 3, f"blocks were merged up to level {top}")
        for m in metas:
            span = m["maxTime"] - m["minTime"]
            level = m["compaction"]["level"]
            check(span <= 7200_000 * 3 ** (level - 1) and m["minTime"] % 7200_000 == 0,
                  f"block {m['ulid']} (level {level}) spans {span // 3600_000} h from an "
                  f"aligned start")
        print(f"info: {mid_write} kills left a block being written (head cut or merge)")
        for a, b in zip(metas, metas[1:]):
            check(a["maxTime"] <= b["minTime"],
                  f"blocks {a['ulid']} and {b['ulid']} do not overlap")


if __name__ == "__main__":
    main(body)
