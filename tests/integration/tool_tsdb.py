#!/usr/bin/env python3
"""tool_tsdb.py - `prom-tool tsdb list|analyze|dump|dump-openmetrics` against
Debian's `promtool` (Prometheus 2.42) on the same data directory.

  tool_tsdb.py <source dir> <build dir>

Generates an OpenMetrics file of about 300 series over 6 hours (counters,
gauges with values across many magnitudes and NaN/Inf, label values with
quotes, backslashes, newlines and UTF-8, a classic histogram), has
`promtool tsdb create-blocks-from openmetrics` turn it into blocks, then runs
both programs on that directory:

  - list and list -r: identical output;
  - analyze of every block (by ID): identical, except as normalised below;
    the last block chosen as 3.x chooses it; --match checked against the
    figures computed here from the generated data (2.42 has no --match);
    --extended checked against the blocks' meta.json (2.42 prints another
    histogram);
  - dump, with and without --match / --min-time / --max-time: identical;
    several --match flags (2.42 takes one) equal one regex for their union;
  - dump --format=seriesjson and dump-openmetrics (3.x only): the same series
    and samples as dump, and the OpenMetrics text backfills (by promtool) into
    blocks that dump the same;
  - errors: a missing directory, a corrupt block, an unknown block ID, a bad
    selector, a damaged chunk: a clear message and exit status 1, promtool's
    own text where both versions agree;
  - the head: a hand-written WAL (upstream's record and page formats) dumps
    exactly as promtool dumps it, nothing is written into the directory, a
    corrupt WAL is an error; without wal/ a dump fails as upstream's;
  - a data directory written by our own TSDB (tsdb_db_tool: blocks, head
    chunks, a WAL with a checkpoint) dumps identically through both.

Normalisations, each because 2.42 and 3.x (our specification) differ:
  - analyze's "Series: N" line is "Total Series: N" in 3.x;
  - analyze sorts each list with an unstable sort over a Go map, so the order
    of equal counts is random in promtool; ours puts them in key order.  Lists
    are compared as sets (with --limit large enough to print everything) and
    with the default limit by their counts and by the keys above the last
    count printed;
  - 2.42's dump reads the WAL through a head it creates chunks_head/ for: the
    directory gets an empty wal/ so 2.42 can dump it at all (both versions
    fail without one, which is checked on its own).
"""
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from om_data import families, write_openmetrics  # noqa: E402
from harness import Run, check, find_tool, main  # noqa: E402

BASE_MS = 1_700_000_000_000
STEP_MS = 60_000
STEPS = 360  # 6 hours: at least three 2 h blocks
LE = ["0.005", "0.01", "0.1", "1", "10", "+Inf"]


def gen(rng):
    """[(family, type, [(name, {labels}, [(t ms, value)])])]."""
    times = [BASE_MS + k * STEP_MS + rng.randrange(0, 1000) for k in range(STEPS)]
    return families(rng, "tool", times, counters=40, gauges=100, histograms=10, le=LE,
                    late=0.33)


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


def blocks_of(d):
    out = []
    for b in sorted(os.listdir(d)):
        meta = os.path.join(d, b, "meta.json")
        if os.path.isfile(meta):
            out.append((b, json.load(open(meta))))
    return out


# ---- analyze output

def parse_analyze(text):
    """(header lines, {section title: [(count, key)]}, tail lines)."""
    head, sections, cur, tail = [], {}, None, []
    for line in text.split("\n"):
        if line.endswith(":") and not line[0].isdigit():
            if line == "Compaction analysis:":
                cur = "tail"
                continue
            cur = line[:-1]
            sections[cur] = []
        elif cur == "tail":
            tail.append(line)
        elif cur is None:
            if line:
                head.append(line)
        elif re.match(r"\d+ ", line):
            n, key = line.split(" ", 1)
            sections[cur].append((int(n), key))
        elif line and sections[cur]:
            # A label value holding a newline is printed as it is.
            n, key = sections[cur].pop()
            sections[cur].append((n, key + "\n" + line))
    return head, sections, tail


def check_sorted(sections, what):
    for title, rows in sections.items():
        check(rows == sorted(rows, key=lambda r: (-r[0], r[1])),
              f"{what}: '{title}' sorted by count, ties by name")


def compare_analyze(ours, theirs, what, full):
    oh, os_, _ = parse_analyze(ours)
    th, ts, _ = parse_analyze(theirs)
    # 3.x prints "Total Series: N" where 2.42 printed "Series: N".
    th = [re.sub(r"^Series: ", "Total Series: ", x) for x in th]
    check(oh == th, f"{what}: header lines equal ({oh[:3]})")
    check(list(os_) == list(ts), f"{what}: the same lists in the same order")
    check_sorted(os_, what)
    for title in ts:
        o, t = os_[title], ts[title]
        if full:
            check(sorted(o) == sorted(t), f"{what}: '{title}': the same {len(t)} entries")
            continue
        check([n for n, _ in o] == [n for n, _ in t],
              f"{what}: '{title}': the same counts ({[n for n, _ in t][:5]}...)")
        if t:
            last = t[-1][0]
            check({k for n, k in o if n > last} == {k for n, k in t if n > last},
                  f"{what}: '{title}': the same entries above the last count {last}")


def expected_analyze(meta, fams, match):
    """The lists 3.x's analyze prints for the series in a block that satisfy
    match(labels), from the generated data."""
    mint, maxt = meta["minTime"], meta["maxTime"]
    rng = maxt - mint
    pair_unc, name_unc, pair_cnt, names, values = {}, {}, {}, set(), {}
    matched = 0
    for _, _, series in fams:
        for name, lb, samples in series:
            ts = [t for t, _ in samples if mint <= t < maxt]
            labels = dict(lb, __name__=name)
            if not ts or not match(labels):
                continue
            matched += 1
            unc = rng - (ts[-1] - ts[0])
            for k, v in labels.items():
                key = f"{k}={v}"
                pair_unc[key] = pair_unc.get(key, 0) + unc
                name_unc[k] = name_unc.get(k, 0) + unc
                pair_cnt[key] = pair_cnt.get(key, 0) + 1
                names.add(k)
                values.setdefault(k, set()).add(v)
    sec = {
        "Label pairs most involved in churning":
            [(int(u / rng), k) for k, u in pair_unc.items()],
        "Label names most involved in churning":
            [(int(u / rng), k) for k, u in name_unc.items()],
        "Most common label pairs": [(c, k) for k, c in pair_cnt.items()],
        "Label names with highest cumulative label value length":
            [(sum(len(v.encode()) for v in values[n]), n) for n in names],
        "Highest cardinality labels": [(len(values[n]), n) for n in names],
        "Highest cardinality metric names":
            [(pair_cnt[f"__name__={v}"], v) for v in values.get("__name__", ())],
    }
    head = [f"Label names: {len(names)}", f"Matched series: {matched}",
            f"Postings (unique label pairs): {len(pair_cnt)}",
            f"Postings entries (total label pairs): {sum(pair_cnt.values())}"]
    return head, sec


def check_analyze(tool, data, blocks, fams):
    for ulid, meta in blocks:
        for limit in ("--limit=100000", None):
            args = ["tsdb", "analyze", data, ulid] + ([limit] if limit else [])
            o, t = run([tool] + args), run(["promtool"] + args)
            check(o.returncode == 0 and t.returncode == 0,
                  f"analyze {ulid} {limit or ''}: both exit 0 ({o.stderr.strip()[:300]})")
            compare_analyze(o.stdout, t.stdout, f"analyze {ulid} {limit or '(limit 20)'}",
                            full=bool(limit))

    # 3.x analyzes the block whose ULID holds the latest time (2.42: the one
    # with the latest minTime); ties go to the first name.
    want = max(blocks, key=lambda b: (int(b[0][:10].translate(CROCKFORD_T), 32), -blocks.index(b)))
    o = run([tool, "tsdb", "analyze", data])
    check(o.returncode == 0 and o.stdout.startswith(f"Block ID: {want[0]}\n"),
          f"analyze without a block ID takes {want[0]} ({o.stdout[:40]!r})")

    # --match (3.x only): against the figures of the generated data.
    cases = [
        ('{__name__=~"tool_requests_total|tool_odd",job!="j1"}',
         lambda lb: lb["__name__"] in ("tool_requests_total", "tool_odd") and lb.get("job") != "j1"),
        ('tool_latency_seconds_bucket{le=~"0\\\\.0.*|\\\\+Inf"}',
         lambda lb: lb["__name__"] == "tool_latency_seconds_bucket"
         and re.fullmatch(r"0\.0.*|\+Inf", lb.get("le", "")) is not None),
        ('{sensor=""}', lambda lb: "sensor" not in lb),
    ]
    ulid, meta = blocks[1]
    for sel, pred in cases:
        o = run([tool, "tsdb", "analyze", "--limit=100000", f"--match={sel}", data, ulid])
        check(o.returncode == 0, f"analyze --match={sel}: exit 0 ({o.stderr.strip()[:300]})")
        head, secs, _ = parse_analyze(o.stdout)
        want_head, want_secs = expected_analyze(meta, fams, pred)
        check(head[:4] == [f"Block ID: {ulid}", head[1], f"Total Series: {meta['stats']['numSeries']}",
                           f"Matcher: {sel}"], f"analyze --match={sel}: header ({head[:4]})")
        check(head[4:] == want_head, f"analyze --match={sel}: {head[4:]} as computed {want_head}")
        check_sorted(secs, f"analyze --match={sel}")
        for title, rows in want_secs.items():
            check(sorted(secs.get(title, [])) == sorted(rows),
                  f"analyze --match={sel}: '{title}' has the {len(rows)} computed entries")

    # --extended: 3.x's compaction analysis, against the meta of each block.
    for ulid, meta in blocks:
        o = run([tool, "tsdb", "analyze", "--extended", data, ulid])
        check(o.returncode == 0, f"analyze --extended {ulid}: exit 0 ({o.stderr.strip()[:300]})")
        _, _, tail = parse_analyze(o.stdout)
        text = "\n".join(tail)
        st = meta["stats"]
        m = re.search(r"samples per float chunk \(min/avg/max\): (\d+)/(\d+)/(\d+)\n((?:\[.*\n)+)",
                      text)
        check(m is not None and int(m.group(2)) == st["numSamples"] // st["numChunks"],
              f"analyze --extended {ulid}: average samples per chunk "
              f"{st['numSamples']} // {st['numChunks']}")
        counts = [int(re.match(r"\[\s*\d+,\s*\d+\]: *(\d+)", x).group(1))
                  for x in m.group(4).splitlines()]
        check(sum(counts) == st["numChunks"], f"analyze --extended {ulid}: the histogram "
              f"counts all {st['numChunks']} chunks")
        check(re.search(r"bytes per float chunk \(min/avg/max\): \d+/\d+/\d+\n", text)
              and "samples per histogram chunk: N/A" in text
              and "buckets per histogram chunk: N/A" in text,
              f"analyze --extended {ulid}: bytes per chunk, no histogram chunks")


CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CROCKFORD_T = str.maketrans(CROCKFORD, "0123456789abcdefghijklmnopqrstuv")


# ---- dump

def check_dump(tool, data, blocks, tmp):
    def both(args, what):
        o, t = run([tool] + args), run(["promtool"] + args)
        check(o.returncode == 0 and t.returncode == 0,
              f"{what}: both exit 0 ({o.stderr.strip()[:200]} / {t.stderr.strip()[:200]})")
        return o.stdout, t.stdout

    o, t = both(["tsdb", "dump", data], "dump")
    lines = o.count("\n")
    total = sum(b["stats"]["numSamples"] for _, b in blocks)
    check(lines == total, f"dump: {lines} lines, the blocks' {total} samples")
    check(o == t, "dump: identical to promtool's")
    full = o

    selectors = ['{__name__="tool_odd"}', 'tool_temperature{job=~"j[12]"}',
                 '{__name__=~"tool_latency.*",handler!~"/h[0-4]"}', '{job="nope"}',
                 'tool_requests_total{code="500",instance=~"host1.*"}']
    for sel in selectors:
        o, t = both(["tsdb", "dump", f"--match={sel}", data], f"dump --match={sel}")
        check(o == t and (o or sel == '{job="nope"}'),
              f"dump --match={sel}: identical ({o.count(chr(10))} lines)")

    # A range straddling block boundaries, one inside a block, one before all data.
    b1 = blocks[1][1]
    ranges = [(b1["minTime"] - 3_600_000, b1["maxTime"] + 1_800_000),
              (b1["minTime"] + 60_000, b1["minTime"] + 600_000), (0, BASE_MS - 1)]
    for lo, hi in ranges:
        args = ["tsdb", "dump", f"--min-time={lo}", f"--max-time={hi}",
                "--match", '{__name__=~"tool_(temperature|odd)"}', data]
        o, t = both(args, f"dump --min-time={lo} --max-time={hi}")
        check(o == t, f"dump --min-time={lo} --max-time={hi}: identical ({o.count(chr(10))} lines)")

    # Several --match flags (2.42 takes one): the union, each series once.
    o = run([tool, "tsdb", "dump", "--match", '{__name__="tool_odd"}', "--match",
             'tool_temperature{sensor=~"s1."}', "--match", '{__name__="tool_odd",path!=""}', data])
    t = run(["promtool", "tsdb", "dump",
             '--match={__name__=~"tool_odd|tool_temperature",sensor=~"s1.|"}', data])
    check(o.returncode == 0 and o.stdout == t.stdout and o.stdout,
          f"dump with three --match flags: their union ({o.stdout.count(chr(10))} lines)")

    # seriesjson (3.x): one object per series, in dump's order.
    o = run([tool, "tsdb", "dump", "--format=seriesjson", data])
    got = [json.loads(x) for x in o.stdout.splitlines()]
    want = []
    for line in full.splitlines():
        labels = dump_labels(line)
        if not want or want[-1] != labels:
            want.append(labels)
    check(o.returncode == 0 and got == want, f"dump --format=seriesjson: the {len(want)} series")
    check('"html":"\\u003ca\\u0026b\\u003e"' in o.stdout and '"nl":"a\\nb"' in o.stdout,
          "dump --format=seriesjson: escapes as Go's encoding/json")

    # dump-openmetrics (3.x): the same samples; promtool backfills it back.
    o = run([tool, "tsdb", "dump-openmetrics", data])
    check(o.returncode == 0 and o.stdout.endswith("\n# EOF\n"),
          f"dump-openmetrics: exit 0, ends in # EOF ({o.stderr.strip()[:200]})")
    want = []
    for line in full.splitlines():
        labels = dump_labels(line)
        rest = line[line.rindex("} ") + 2:].split(" ")
        name = labels.pop("__name__")
        inner = ",".join(f"{k}={go_quote(v)}" for k, v in labels.items())
        want.append(f"{name}{{{inner}}} {rest[0]} {int(rest[1]) / 1000:.3f}")
    check(o.stdout.splitlines()[:-1] == want, "dump-openmetrics: the dump's samples, as 3.x writes")
    om = os.path.join(tmp, "dump.om")
    open(om, "w").write(o.stdout)
    back = os.path.join(tmp, "back")
    r = run(["promtool", "tsdb", "create-blocks-from", "openmetrics", om, back])
    check(r.returncode == 0, f"promtool backfills our OpenMetrics dump ({r.stderr.strip()[:300]})")
    os.makedirs(os.path.join(back, "wal"))
    r = run(["promtool", "tsdb", "dump", back])
    check(r.stdout == full, "its blocks dump exactly as the original")


def dump_labels(line):
    """The labels of a dump line {a="x", b="y"} v t (values Go-quoted)."""
    body = line[1:line.rindex("} ")]
    out = {}
    for m in re.finditer(r'([a-zA-Z_][a-zA-Z0-9_]*)=("(?:[^"\\]|\\.)*")(?:, |$)', body):
        out[m.group(1)] = json.loads(m.group(2))
    return out


def go_quote(v):
    """Go's strconv.Quote for the printable values generated here."""
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


# ---- errors and the head

def check_errors(tool, data, blocks, tmp):
    missing = os.path.join(tmp, "missing")
    for cmd in (["list"], ["analyze"], ["dump"]):
        o = run([tool, "tsdb"] + cmd + [missing])
        t = run(["promtool", "tsdb"] + cmd + [missing])
        want = f"opening the db dir: stat {missing}: no such file or directory\n"
        check(o.returncode == 1 and o.stderr == want == t.stderr and o.stdout == "",
              f"tsdb {cmd[0]} on a missing directory: promtool's message, exit 1")

    o = run([tool, "tsdb", "analyze", data, "01ARZ3NDEKTSV4RRFFQ69G5FAV"])
    check(o.returncode == 1 and o.stderr == "invalid block ID 01ARZ3NDEKTSV4RRFFQ69G5FAV\n",
          "analyze of an unknown block: 3.x's message (2.42: block ... not found)")
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)
    o = run([tool, "tsdb", "analyze", empty])
    check(o.returncode == 1 and o.stderr == "no blocks found\n",
          "analyze of a directory without blocks: no blocks found")
    o, t = run([tool, "tsdb", "list", empty]), run(["promtool", "tsdb", "list", empty])
    check(o.returncode == 0 and o.stdout == t.stdout, "list of a directory without blocks")
    o = run([tool, "tsdb", "dump", "--match=up{", data])
    check(o.returncode == 1 and "parse error" in o.stderr and o.stdout == "",
          f"dump with a bad selector: a parse error ({o.stderr.strip()})")
    o = run([tool, "tsdb", "analyze", "--match=rate(x[5m])", data])
    check(o.returncode == 1 and "parse error" in o.stderr,
          f"analyze with a query for a selector: a parse error ({o.stderr.strip()})")

    # A block whose index is cut short: corrupted, in list and dump as in 2.42.
    bad = os.path.join(tmp, "bad")
    shutil.copytree(data, bad)
    ulid = blocks[1][0]
    idx = os.path.join(bad, ulid, "index")
    open(idx, "r+b").truncate(os.path.getsize(idx) // 2)
    for cmd in (["list"], ["dump"]):
        o = run([tool, "tsdb"] + cmd + [bad])
        t = run(["promtool", "tsdb"] + cmd + [bad])
        check(o.returncode == 1 == t.returncode and o.stdout == ""
              and o.stderr.startswith(f"corrupted block {ulid}: ") and "index" in o.stderr,
              f"tsdb {cmd[0]} with a truncated index: corrupted block, exit 1 "
              f"({o.stderr.strip()[:200]})")
    o = run([tool, "tsdb", "analyze", bad, ulid])
    check(o.returncode == 1 and ulid in o.stderr and "index" in o.stderr,
          f"analyze of that block: exit 1 ({o.stderr.strip()[:200]})")
    o = run([tool, "tsdb", "analyze", bad, blocks[0][0]])
    check(o.returncode == 0, "analyze of another block of that directory works")

    # A block without a readable meta.json is skipped, as upstream does.
    shutil.rmtree(bad)
    shutil.copytree(data, bad)
    open(os.path.join(bad, ulid, "meta.json"), "w").write("{")
    o, t = run([tool, "tsdb", "list", bad]), run(["promtool", "tsdb", "list", bad])
    check(o.returncode == 0 and o.stdout == t.stdout and ulid not in o.stdout,
          "list skips a block whose meta.json cannot be read, as promtool")

    # A flipped byte inside a chunk: the dump stops with a message.
    shutil.rmtree(bad)
    shutil.copytree(data, bad)
    seg = os.path.join(bad, ulid, "chunks", "000001")
    b = bytearray(open(seg, "rb").read())
    b[len(b) // 2] ^= 0x40
    open(seg, "wb").write(b)
    o = run([tool, "tsdb", "dump", bad])
    check(o.returncode == 1 and "series {" in o.stderr and "chunk" in o.stderr,
          f"dump of a damaged chunk: exit 1 naming the series ({o.stderr.strip()[:200]})")
    o = run([tool, "tsdb", "analyze", "--extended", bad, ulid])
    check(o.returncode == 1 and "series {" in o.stderr and "chunk" in o.stderr,
          f"analyze --extended of a damaged chunk: exit 1 ({o.stderr.strip()[:200]})")


def check_list_times(tool, data, tmp):
    """Block times far from now format as Go formats them (dates before year
    1, durations below a second or negative)."""
    odd = os.path.join(tmp, "odd-times")
    shutil.copytree(data, odd)
    times = [(-62_200_000_000_000, -62_100_000_000_001), (1, 501), (1000, -500),
             (0, 90_061_001)]
    for (ulid, _), (lo, hi) in zip(blocks_of(odd), times):
        path = os.path.join(odd, ulid, "meta.json")
        meta = json.load(open(path))
        meta["minTime"], meta["maxTime"] = lo, hi
        json.dump(meta, open(path, "w"), indent="\t")
    for flag in ([], ["-r"]):
        o = run([tool, "tsdb", "list"] + flag + [odd])
        t = run(["promtool", "tsdb", "list"] + flag + [odd])
        check(o.returncode == 0 and o.stdout == t.stdout and "-1.5s" in o.stdout
              and "500ms" in o.stdout, f"list {' '.join(flag)} of blocks with odd times: identical")


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def uvarint(n):
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def write_wal(d, t):
    """wal/00000000 with one series record and one samples record (upstream's
    record and page formats), two samples at t and t + 15 s."""
    os.makedirs(d, exist_ok=True)
    series = b"\x01" + struct.pack(">Q", 1) + uvarint(2)
    for k, v in (("__name__", "head_only"), ("job", "wal")):
        series += uvarint(len(k)) + k.encode() + uvarint(len(v)) + v.encode()
    samples = b"\x02" + struct.pack(">Qq", 1, t)
    for dt, v in ((0, 1.5), (15000, 2.5)):
        samples += uvarint(0) + uvarint(dt * 2) + struct.pack(">d", v)
    page = b""
    for rec in (series, samples):
        page += b"\x01" + struct.pack(">HI", len(rec), crc32c(rec)) + rec
    open(os.path.join(d, "00000000"), "wb").write(page + b"\0" * (32768 - len(page)))


def check_head(tool, data, blocks, tmp):
    nowal = os.path.join(tmp, "nowal")
    shutil.copytree(data, nowal, ignore=shutil.ignore_patterns("wal", "chunks_head"))
    o, t = run([tool, "tsdb", "dump", nowal]), run(["promtool", "tsdb", "dump", nowal])
    want = f"read WAL: find last checkpoint: open {nowal}/wal: no such file or directory\n"
    check(o.returncode == 1 == t.returncode and o.stderr == want == t.stderr,
          "dump without wal/: upstream's replay error, exit 1 (2.42 and 3.x alike)")
    shutil.rmtree(os.path.join(nowal, "chunks_head"), ignore_errors=True)
    last = blocks[-1][1]["maxTime"]
    args = ["tsdb", "dump", f"--max-time={last - 1}", nowal]
    o, t = run([tool] + args), run(["promtool"] + args)
    check(o.returncode == 0 == t.returncode and o.stdout == t.stdout and o.stdout,
          "dump ending before the last block's end reads no WAL: works without wal/")

    withwal = os.path.join(tmp, "withwal")
    shutil.copytree(data, withwal, ignore=shutil.ignore_patterns("wal", "chunks_head"))
    write_wal(os.path.join(withwal, "wal"), last + 60_000)
    before = tree_of(withwal)
    o = run([tool, "tsdb", "dump", withwal])
    check(tree_of(withwal) == before, "our dump writes nothing into the data directory")
    t = run(["promtool", "tsdb", "dump", withwal])
    head = [x for x in t.stdout.splitlines(True) if x.startswith('{__name__="head_only"')]
    check(t.returncode == 0 and len(head) == 2, "promtool dumps the 2 samples of the WAL")
    check(o.returncode == 0 and o.stdout == t.stdout and o.stderr == "",
          f"ours dumps the blocks and the head's 2 samples exactly as promtool "
          f"({o.stderr.strip()[:200]})")
    args = ["tsdb", "dump", '--match={job="wal"}', f"--min-time={last + 75_000}", withwal]
    o, t = run([tool] + args), run(["promtool"] + args)
    check(o.returncode == 0 and o.stdout == t.stdout and o.stdout.count("\n") == 1,
          "a dump of the head alone, from its second sample: identical, 1 line")
    o = run([tool, "tsdb", "dump-openmetrics", '--match={job="wal"}', withwal])
    want = f'head_only{{job="wal"}} 1.5 {(last + 60_000) / 1000:.3f}\n'
    check(o.returncode == 0 and o.stdout.startswith(want) and o.stdout.endswith("# EOF\n"),
          f"dump-openmetrics reads the head too ({o.stdout[:80]!r})")
    o = run([tool, "tsdb", "list", withwal])
    check(o.returncode == 0 and o.stderr == "" and len(o.stdout.splitlines()) == len(blocks) + 1,
          "list shows the persisted blocks only, as upstream")

    # A corrupt WAL: both fail on it (2.42 with "read records: " before the
    # reader's message and the record's end as the offset, ours its start).
    torn = os.path.join(tmp, "torn")
    shutil.copytree(withwal, torn)
    seg = os.path.join(torn, "wal", "00000000")
    b = bytearray(open(seg, "rb").read())
    b[40] ^= 0xFF  # inside the series record: its CRC fails
    open(seg, "wb").write(b)
    o, t = run([tool, "tsdb", "dump", torn]), run(["promtool", "tsdb", "dump", torn])
    for r in (o, t):
        check(r.returncode == 1 and r.stderr.startswith("read WAL: ")
              and f"corruption in segment {seg} at " in r.stderr
              and "unexpected checksum" in r.stderr,
              f"a corrupt WAL: read WAL error, exit 1 ({r.stderr.strip()[:200]})")
    check(open(seg, "rb").read() == bytes(b), "and the segment is left as it was")


def tree_of(d):
    """Every path under d with its size and modification time."""
    out = {}
    for root, dirs, files in os.walk(d):
        for name in dirs + files:
            p = os.path.join(root, name)
            st = os.lstat(p)
            out[p] = (st.st_size, st.st_mtime_ns)
    return out


def check_own_db(tool, build, tmp):
    """A data directory written by our own TSDB (blocks, chunks_head/, a WAL
    with a checkpoint) dumps the same through both programs."""
    db_tool = find_tool(build, "tsdb_db_tool")
    own = os.path.join(tmp, "own")
    start = BASE_MS - BASE_MS % 7_200_000
    p = run([db_tool, "write", own, "60", str(start), str(start + 7 * 3_600_000), "15000",
             "--compact"])
    check(p.returncode == 0, f"tsdb_db_tool wrote 7 h of 60 series ({p.stderr.strip()[:200]})")
    blocks = blocks_of(own)
    wal = os.listdir(os.path.join(own, "wal"))
    check(len(blocks) >= 2 and any(x.startswith("checkpoint.") for x in wal),
          f"{len(blocks)} blocks and a WAL with a checkpoint ({sorted(wal)})")
    in_blocks = sum(b["stats"]["numSamples"] for _, b in blocks)
    total = 60 * 7 * 240
    theirs = os.path.join(tmp, "own-promtool")  # 2.42 writes chunks_head/ while it dumps
    shutil.copytree(own, theirs)
    before = tree_of(own)
    for args in (["dump"], ["dump", '--match={group="3"}', f"--min-time={start + 3_600_000}"],
                 ["dump", f"--max-time={start + 5 * 3_600_000}"], ["dump-openmetrics"]):
        o = run([tool, "tsdb"] + args + [own])
        t = run(["promtool", "tsdb"] + args + [theirs])
        if args == ["dump-openmetrics"]:
            # 2.42 has no dump-openmetrics: compare with its dump, sample by sample.
            t = run(["promtool", "tsdb", "dump", theirs])
            want = []
            for line in t.stdout.splitlines():
                lb = dump_labels(line)
                name = lb.pop("__name__")
                v, ts = line[line.rindex("} ") + 2:].split(" ")
                inner = ",".join(f"{k}={go_quote(x)}" for k, x in lb.items())
                want.append(f"{name}{{{inner}}} {v} {int(ts) / 1000:.3f}")
            check(o.returncode == 0 and o.stdout.splitlines() == want + ["# EOF"],
                  f"dump-openmetrics of our own data directory: promtool's samples "
                  f"({len(want)} lines)")
            continue
        check(o.returncode == 0 == t.returncode and o.stdout == t.stdout and o.stdout,
              f"tsdb {' '.join(args)} of our own data directory: identical "
              f"({o.stdout.count(chr(10))} lines; {o.stderr.strip()[:200]})")
        if args == ["dump"]:
            n = o.stdout.count("\n")
            check(n == total and n > in_blocks,
                  f"the dump holds all {total} samples, {n - in_blocks} of them from the head")
    check(tree_of(own) == before, "our dumps leave our own data directory untouched")


def body():
    build = sys.argv[2]
    tool = find_tool(build, "prom-tool")
    with Run("tool-tsdb") as r:
        fams = gen(random.Random(20240611))
        om = os.path.join(r.tmp, "input.om")
        write_openmetrics(om, fams)
        data = os.path.join(r.tmp, "data")
        p = run(["promtool", "tsdb", "create-blocks-from", "openmetrics", om, data])
        check(p.returncode == 0, f"promtool backfills {om} ({p.stderr.strip()[:300]})")
        os.makedirs(os.path.join(data, "wal"))  # see the normalisations above
        blocks = blocks_of(data)
        nseries = sum(len(s) for _, _, s in fams)
        check(len(blocks) >= 3, f"{len(blocks)} blocks of {nseries} series")

        for args in (["list", data], ["list", "-r", data], ["list", data + "/"],
                     ["list", "--human-readable", data]):
            o, t = run([tool, "tsdb"] + args), run(["promtool", "tsdb"] + args)
            check(o.returncode == 0 and o.stdout == t.stdout,
                  f"tsdb {' '.join(args[:-1])}: identical ({len(o.stdout.splitlines())} lines)")

        check_analyze(tool, data, blocks, fams)
        check_dump(tool, data, blocks, r.tmp)
        check_errors(tool, data, blocks, r.tmp)
        check_list_times(tool, data, r.tmp)
        check_head(tool, data, blocks, r.tmp)
        check_own_db(tool, build, r.tmp)
    print("PASS")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    main(body)
