#!/usr/bin/env python3
"""tsdb_db_interop.py - a data directory written by our TSDB, read by Debian's
promtool and prometheus (2.42).

  tsdb_db_interop.py <source dir> <build dir>

tsdb_db_tool writes 300 series over the last 15 hours at 15 s through our
appender, compacting as it goes, so the directory holds level-1 blocks and
at least one merged from them (level 2), a
head in chunks_head/, a WAL with a checkpoint, as a running server leaves it.
Then:

  - `promtool tsdb list` lists every block we wrote with our meta.json's
    series and sample counts, and their sum plus what the head holds equals
    the samples written;
  - `promtool tsdb analyze` reads the newest block without error and reports
    its series count;
  - Debian's prometheus started on a copy of the directory (it replays our
    checkpoint, WAL segments and head chunks) answers count({__name__=~".+"})
    with 300 at times in a block and in the head, and the exact value of
    several series at sample times in each part.

Every process started is stopped by pid; logs are printed on failure.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Run, check, find_tool, free_port, http, main  # noqa: E402

NSERIES = 300
STEP = 15_000
HOURS = 15  # enough for level-1 blocks to be merged into a 6h one


def value(i, t):
    return i * 1000 + t // 1000


def body():
    build = sys.argv[2]
    tool = find_tool(build, "tsdb_db_tool")
    now = int(time.time()) * 1000
    start = (now - HOURS * 3600_000) // STEP * STEP
    end = now // STEP * STEP
    with Run("tsdb-db-interop") as run:
        data = os.path.join(run.tmp, "data")
        p = subprocess.run([tool, "write", data, str(NSERIES), str(start), str(end), str(STEP),
                            "--compact", "--wal-compression=snappy"],
                           capture_output=True, text=True)
        check(p.returncode == 0, f"tsdb_db_tool wrote {HOURS} h of {NSERIES} series "
              f"({p.stderr.strip()[-300:]})")
        written = NSERIES * ((end - start) // STEP)
        names = sorted(os.listdir(data))
        blocks = [b for b in names if os.path.isfile(os.path.join(data, b, "meta.json"))]
        check(len(blocks) >= 2, f"our compaction left {len(blocks)} blocks")
        levels = [json.load(open(os.path.join(data, b, "meta.json")))["compaction"]["level"]
                  for b in blocks]
        check(max(levels) >= 2, f"level-1 blocks were merged (levels {sorted(levels)})")
        check(os.path.isdir(os.path.join(data, "chunks_head"))
              and os.listdir(os.path.join(data, "chunks_head")),
              "chunks_head/ holds head chunk files")
        wal = os.listdir(os.path.join(data, "wal"))
        check(any(w.startswith("checkpoint.") for w in wal), f"the WAL has a checkpoint ({wal})")

        # promtool tsdb list: ULID, min time, max time, duration, samples, chunks, series, size
        p = subprocess.run(["promtool", "tsdb", "list", data], capture_output=True, text=True)
        check(p.returncode == 0, f"promtool tsdb list exits 0 ({p.stderr.strip()[:300]})")
        listed = {}
        for line in p.stdout.splitlines()[1:]:
            cols = line.split()
            if len(cols) >= 7:
                listed[cols[0]] = (int(cols[4]), int(cols[6]))  # samples, series
        check(set(listed) == set(blocks), f"promtool lists our {len(blocks)} blocks")
        in_blocks = 0
        for b in blocks:
            meta = json.load(open(os.path.join(data, b, "meta.json")))
            st = meta["stats"]
            check(listed[b] == (st["numSamples"], st["numSeries"]),
                  f"promtool reads block {b}: {listed[b][0]} samples, {listed[b][1]} series")
            span = 2 * 3600_000 * 3 ** (meta["compaction"]["level"] - 1)
            check(st["numSeries"] == NSERIES and meta["maxTime"] - meta["minTime"] <= span,
                  f"block {b} holds every series in at most {span // 3600_000} h")
            in_blocks += st["numSamples"]
        head_start = max(json.load(open(os.path.join(data, b, "meta.json")))["maxTime"]
                         for b in blocks)
        in_head = NSERIES * ((end - head_start) // STEP)
        check(in_blocks + in_head == written,
              f"blocks ({in_blocks}) and head ({in_head}) hold the {written} samples written")

        p = subprocess.run(["promtool", "tsdb", "analyze", data], capture_output=True, text=True)
        check(p.returncode == 0, f"promtool tsdb analyze exits 0 ({p.stderr.strip()[:300]})")
        m = re.search(r"^Series: (\d+)$", p.stdout, re.M)
        check(m and int(m.group(1)) == NSERIES,
              f"promtool tsdb analyze reports {m and m.group(1)} series")

        peer = os.path.join(run.tmp, "peer-data")
        shutil.copytree(data, peer)
        cfg = os.path.join(run.tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1h\n")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        run.start("prometheus", ["prometheus", f"--config.file={cfg}",
                                 f"--storage.tsdb.path={peer}",
                                 f"--web.listen-address=127.0.0.1:{port}"],
                  f"{url}/-/ready", timeout=90)

        def query(q, t):
            qs = urllib.parse.urlencode({"query": q, "time": f"{t / 1000:.3f}"})
            status, text = http(f"{url}/api/v1/query?{qs}")
            check(status == 200, f"prometheus answers {q} at {t} ({text[:200]})")
            return json.loads(text)["data"]["result"]

        # Sample times: early in the first block, in a later block, in the head
        # (its mmapped chunks and its open chunks).
        times = [start + 10 * STEP, head_start - 40 * STEP, head_start + 7 * STEP,
                 end - 3 * STEP]
        for t in times:
            r = query('count({__name__=~".+"})', t)
            check(r and r[0]["value"][1] == str(NSERIES),
                  f"prometheus counts {NSERIES} series at {t} ({r})")
            for i in (0, 17, 123, NSERIES - 1):
                r = query(f'tsdb_test_metric{{series="{i}"}}', t)
                got = float(r[0]["value"][1]) if r else None
                check(got == value(i, t), f"series {i} at {t} is {got}, written {value(i, t)}")
        r = query(f'sum(count_over_time(tsdb_test_metric[{HOURS + 1}h]))', end)
        check(r and int(r[0]["value"][1]) == written,
              f"prometheus counts all {written} samples over {HOURS + 1} h ({r and r[0]['value'][1]})")


if __name__ == "__main__":
    main(body)
