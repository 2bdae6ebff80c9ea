#!/usr/bin/env python3
"""prom-node-exporter on this machine, with the real upstream tools:

1. its output (default collectors) has no format error for Debian's
   `promtool check metrics`;
2. Debian's prometheus 2.42 scrapes it with up == 1 and stores its series;
3. collect[] and exclude[] select collectors; both together are a 400;
4. a collector that hangs (its file is a FIFO nobody writes) does not stall
   the scrape: after --collector.timeout it reports success 0 and the other
   collectors are served.

Usage: node_exporter.py <source dir> <build dir>
"""
import json
import os
import sys
import time

from harness import Run, check, free_port, http, main, promtool_check

BIN = os.path.join(sys.argv[2], "bin")


def success(text, collector):
    key = f'node_scrape_collector_success{{collector="{collector}"}} '
    for line in text.split("\n"):
        if line.startswith(key):
            return float(line[len(key):])
    return None


def test(run):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    exp = run.start("prom-node-exporter",
                [os.path.join(BIN, "prom-node-exporter"), f"--web.listen-address=127.0.0.1:{port}"],
                base + "/metrics")
    code, text = http(base + "/metrics")
    check(code == 200 and "node_scrape_collector_success" in text, "the exporter serves /metrics")
    promtool_check("prom-node-exporter", text)

    code, text = http(base + "/metrics?collect[]=loadavg")
    names = {l.split("{")[0].split(" ")[0] for l in text.split("\n") if l and l[0] != "#"}
    check(code == 200 and "node_load1" in names and success(text, "loadavg") == 1
          and all(success(text, c) is None for c in ("cpu", "meminfo")),
          "collect[]=loadavg runs only loadavg")
    code, text = http(base + "/metrics?exclude[]=loadavg")
    check(code == 200 and "node_load1" not in text, "exclude[]=loadavg leaves it out")
    code, text = http(base + "/metrics?collect[]=loadavg&exclude[]=cpu")
    check(code == 400, f"collect[] with exclude[] is a 400 ({code} {text.strip()})")

    # Debian's prometheus scrapes us.
    pport = free_port()
    cfg = os.path.join(run.tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write(f"global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: node\n"
                f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
    prom = run.start("prometheus", ["prometheus", f"--config.file={cfg}",
                                    f"--storage.tsdb.path={run.tmp}/prom-data",
                                f"--web.listen-address=127.0.0.1:{pport}"],
                 f"http://127.0.0.1:{pport}/-/ready")
    api = f"http://127.0.0.1:{pport}/api/v1/query?query="
    up, loads = None, []
    for _ in range(60):
        res = json.loads(http(api + "up")[1] or "{}").get("data", {}).get("result", [])
        up = res[0]["value"][1] if res else None
        loads = json.loads(http(api + "node_load1")[1] or "{}").get("data", {}).get("result", [])
        if up == "1" and loads:
            break
        time.sleep(0.5)
    run.stop(prom)
    check(up == "1" and loads, "Debian's prometheus scraped the exporter: up == 1, node_load1 stored")
    run.stop(exp)

    # A hanging collector: /proc/loadavg is a FIFO that nobody writes.
    root = os.path.join(run.tmp, "hang")
    os.makedirs(os.path.join(root, "proc"))
    os.mkfifo(os.path.join(root, "proc", "loadavg"))
    with open(os.path.join(root, "proc", "meminfo"), "w") as f:
        f.write("MemTotal:       16384 kB\nMemFree:         8192 kB\n")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    run.start("hanging", [os.path.join(BIN, "prom-node-exporter"),
                      f"--web.listen-address=127.0.0.1:{port}", f"--path.procfs={root}/proc",
                      "--collector.disable-defaults", "--collector.loadavg", "--collector.meminfo",
                      "--collector.timeout=1s"], base + "/")
    for attempt in range(2):  # the second scrape finds loadavg still stuck
        t0 = time.time()
        code, text = http(base + "/metrics")
        dt = time.time() - t0
        check(code == 200 and dt < 5, f"scrape {attempt + 1} with a hung collector answered "
                                      f"in {dt:.2f}s")
        check(success(text, "loadavg") == 0, "the hung collector reports success 0")
        meminfo = success(text, "meminfo")
        check(meminfo == 1, f"the other collector is served (meminfo success {meminfo})")


if __name__ == "__main__":
    def body():
        with Run("prom-node") as run:
            test(run)
    main(body)
