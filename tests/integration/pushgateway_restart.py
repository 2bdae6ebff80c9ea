#!/usr/bin/env python3
"""prom-pushgateway's persistence across restarts:

1. groups pushed (text, histogram, summary, base64 labels, protobuf, a failed
   push) survive SIGTERM and a restart: /metrics is the same byte for byte,
   push times included (the gateway's own metrics aside);
2. with a short --persistence.interval the file is written while running:
   after SIGKILL a restart still has what was pushed before the interval;
3. a truncated file, a file with one bit flipped and a file of another
   format are each reported (with the path) and moved aside, never
   overwritten; the gateway starts empty, serves, and writes a fresh file
   on shutdown.

Usage: pushgateway_restart.py <source dir> <build dir>
"""
import glob
import os
import signal
import sys
import time

from pushgateway_common import (PB_CONTENT_TYPE, mktemp, ours, pb_family, pb_metric, request)

OWN = ("pushgateway_", "process_", "go_")


def groups_text(gw):
    status, body, _ = request(gw.url + "/metrics")
    assert status == 200, f"/metrics answered {status}"
    keep = []
    for line in body.decode().splitlines():
        name = line.split(" ")[2] if line.startswith("# ") else line.split("{")[0].split(" ")[0]
        if not name.startswith(OWN):
            keep.append(line)
    return "\n".join(keep)


def push_everything(gw):
    pushes = [
        ("PUT", "/metrics/job/a", b"# HELP m Help.\n# TYPE m counter\nm{x=\"1\"} 1\nm{x=\"2\"} 2\n", {}),
        ("PUT", "/metrics/job/b/instance/i1",
         b"# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 3\nh_sum 0.5\n"
         b"h_count 3\n# TYPE s summary\ns{quantile=\"0.9\"} 2\ns_sum 5\ns_count 4\n", {}),
        ("PUT", "/metrics/job@base64/L3Zhcg/path@base64/=", b"weird{v=\"a\\\"b\\nc\"} NaN\n", {}),
        ("PUT", "/metrics/job/pb", pb_family("pbm", "gauge", [pb_metric({"k": "v"}, "gauge", 2.5)],
                                             help="pb help"), {"Content-Type": PB_CONTENT_TYPE}),
        ("PUT", "/metrics/job/a", b"# TYPE m gauge\nm 1\n", {}),  # refused: type
    ]
    for method, path, body, headers in pushes:
        status = request(gw.url + path, method, body, headers)[0]
        assert status in (200, 400), f"{method} {path}: {status}"


def check_clean_restart(build, tmp):
    data = os.path.join(tmp, "clean.data")
    gw = ours(build, tmp, f"--persistence.file={data}", "--persistence.interval=1h",
              name="clean").start()
    push_everything(gw)
    before = groups_text(gw)
    assert "weird" in before and "pbm" in before and "h_bucket" in before
    assert gw.stop() == 0, "SIGTERM: non-zero exit"
    assert os.path.exists(data), "no persistence file after SIGTERM"
    gw2 = ours(build, tmp, f"--persistence.file={data}", name="clean2").start()
    after = groups_text(gw2)
    gw2.stop()
    assert before == after, f"after restart:\n{after}\nbefore:\n{before}"


def check_interval(build, tmp):
    data = os.path.join(tmp, "interval.data")
    gw = ours(build, tmp, f"--persistence.file={data}", "--persistence.interval=500ms",
              name="interval").start()
    push_everything(gw)
    before = groups_text(gw)
    for _ in range(100):
        if os.path.exists(data):
            break
        time.sleep(0.1)
    time.sleep(1.5)
    gw.stop(signal.SIGKILL)
    gw2 = ours(build, tmp, f"--persistence.file={data}", name="interval2").start()
    after = groups_text(gw2)
    gw2.stop()
    assert before == after, "the interval's write is missing groups"


def check_corrupt(build, tmp, name, damage):
    data = os.path.join(tmp, name + ".data")
    gw = ours(build, tmp, f"--persistence.file={data}", name=name).start()
    push_everything(gw)
    gw.stop()
    raw = open(data, "rb").read()
    bad = damage(raw)
    open(data, "wb").write(bad)
    gw2 = ours(build, tmp, f"--persistence.file={data}", name=name + "2").start()
    text = groups_text(gw2)
    assert "push_time_seconds" not in text, f"{name}: groups loaded from a corrupt file"
    log = gw2.log()
    assert data in log and "could not load persisted metrics" in log, f"{name}: not reported"
    moved = glob.glob(data + ".corrupt-*")
    assert len(moved) == 1, f"{name}: moved aside as {moved}"
    assert open(moved[0], "rb").read() == bad, f"{name}: the corrupt file was altered"
    assert moved[0] in log, f"{name}: the log does not say where the file went"
    assert request(gw2.url + "/metrics/job/new", "PUT", b"fresh 1\n")[0] == 200
    assert gw2.stop() == 0
    gw3 = ours(build, tmp, f"--persistence.file={data}", name=name + "3").start()
    assert "fresh" in groups_text(gw3), f"{name}: the fresh file was not written"
    gw3.stop()
    assert open(moved[0], "rb").read() == bad, f"{name}: the corrupt file was overwritten"


def main():
    build = sys.argv[2]
    tmp = mktemp("prom-pgw-restart-")
    check_clean_restart(build, tmp)
    check_interval(build, tmp)
    check_corrupt(build, tmp, "truncated", lambda b: b[: len(b) // 2])
    check_corrupt(build, tmp, "bitflip",
                  lambda b: b[: len(b) // 2] + bytes([b[len(b) // 2] ^ 0x10]) + b[len(b) // 2 + 1:])
    check_corrupt(build, tmp, "foreign", lambda b: b"\x0e\xff\x81\x04\x01\x02\xff\x82gob-ish")
    print("OK: clean restart, interval write, truncated / flipped / foreign files moved aside")
    return 0


if __name__ == "__main__":
    sys.exit(main())
