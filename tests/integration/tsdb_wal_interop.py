#!/usr/bin/env python3
"""tsdb_wal_interop.py - our WAL reader and record decoders against the WAL of
a running Prometheus 2.42 (Debian's prometheus).

  tsdb_wal_interop.py <source dir> <build dir>

Twice, with WAL compression off and then on (snappy): runs prometheus
scraping itself every second for about 15 s, asks its API for the raw samples
of `up` (`up[1m]`), stops it with SIGTERM, and decodes every record of its
wal/ with tsdb_wal_dump.  Every series ref in a samples record must have a
series record, the `up` series must hold every sample the API returned, and
compressed records must appear exactly when compression was on.

Every process started is stopped by pid; logs are printed on failure.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Run, check, find_tool, free_port, http, main  # noqa: E402

RUN_SECONDS = 15


def query_up(port):
    """The raw samples of `up` as {labels tuple: {t ms: value}}."""
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": "up[1m]"})
    status, body = http(url)
    check(status == 200, f"query up[1m] answered ({status})")
    out = {}
    for series in json.loads(body)["data"]["result"]:
        key = tuple(sorted(series["metric"].items()))
        out[key] = {round(float(t) * 1000): float(v) for t, v in series["values"]}
    return out


def run_dump(dump, wal):
    p = subprocess.run([dump, wal], capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError(f"tsdb_wal_dump {wal}: {p.stderr.strip()}")
    return p.stdout


def parse_dump(text):
    """(series ref -> labels dict, list of (ref, t, bits), records, compressed)."""
    series, samples, records, compressed = {}, [], 0, 0
    for line in text.splitlines():
        kind, rest = line.split(" ", 1)
        if kind == "series":
            ref, labels = rest.split(" ", 1)
            series[int(ref)] = json.loads(labels)
        elif kind == "sample":
            ref, t, bits = rest.split()
            samples.append((int(ref), int(t), int(bits, 16)))
        elif kind == "records":
            parts = rest.split()
            records, compressed = int(parts[0]), int(parts[2])
    return series, samples, records, compressed


def as_float(bits):
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def one_run(dump, compress):
    mode = "snappy" if compress else "off"
    flag = "--storage.tsdb.wal-compression" if compress else "--no-storage.tsdb.wal-compression"
    with Run(f"tsdb-wal-{mode}") as run:
        port = free_port()
        config = os.path.join(run.tmp, "prometheus.yml")
        data = os.path.join(run.tmp, "data")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: self\n    static_configs:\n"
                    f"      - targets: ['127.0.0.1:{port}']\n")
        proc = run.start("prometheus",
                         ["prometheus", f"--config.file={config}",
                          f"--storage.tsdb.path={data}", flag,
                          f"--web.listen-address=127.0.0.1:{port}"],
                         f"http://127.0.0.1:{port}/-/ready", cwd=run.tmp)
        time.sleep(RUN_SECONDS)
        api = query_up(port)
        run.stop(proc)
        check(proc.returncode == 0, f"[{mode}] prometheus stopped cleanly on SIGTERM")
        series, samples, records, compressed = parse_dump(run_dump(dump, os.path.join(data, "wal")))
        check(records > 0 and series and samples,
              f"[{mode}] decoded {records} records: {len(series)} series, "
              f"{len(samples)} samples")
        missing = {ref for ref, _, _ in samples} - set(series)
        check(not missing, f"[{mode}] every sample's ref has a series record "
                           f"(missing: {sorted(missing)[:5]})")
        if compress:
            check(compressed > 0, f"[{mode}] {compressed} of {records} records were snappy")
        else:
            check(compressed == 0, f"[{mode}] no record was compressed")
        check_up(mode, api, series, samples)


def check_up(mode, api, series, samples):
    check(len(api) == 1 and len(next(iter(api.values()))) >= 5,
          f"[{mode}] the API returned one `up` series with at least 5 samples")
    key, want = next(iter(api.items()))
    refs = [ref for ref, labels in series.items() if tuple(sorted(labels.items())) == key]
    check(len(refs) == 1, f"[{mode}] one series record for {dict(key)}")
    got = {t: as_float(bits) for ref, t, bits in samples if ref == refs[0]}
    absent = {t: v for t, v in want.items() if got.get(t) != v}
    check(not absent, f"[{mode}] the WAL holds all {len(want)} `up` samples the API returned "
                      f"(absent or different: {list(absent.items())[:5]})")


def body():
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    if not shutil.which("prometheus"):
        raise AssertionError("prometheus is not installed")
    dump = find_tool(sys.argv[2], "tsdb_wal_dump")
    one_run(dump, compress=False)
    one_run(dump, compress=True)


if __name__ == "__main__":
    main(body)
