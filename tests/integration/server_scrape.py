#!/usr/bin/env python3
"""server_scrape.py - prom-server scraping real targets into its TSDB.

  server_scrape.py <source dir> <build dir>

Starts Debian's prometheus-node-exporter (1.5), our prom-node-exporter and
prom-server on free loopback ports, the server configured to scrape all three
(itself included) every second, and checks:

  - after a few intervals `up` is 1 for each target, with upstream's target
    labels (job, instance, a static label);
  - the server's TSDB holds exactly the metric names each exporter exposes
    on /metrics (read from the exporter, parsed in this test), plus the five
    report series per target; scrape_samples_scraped equals the exporter's
    sample count (Debian's 1.5 and our 1.12-compatible exporter expose
    different sets: each is compared with itself);
  - a reload with an invalid file (POST /-/reload) is refused with its
    file:line:col message while scraping goes on, and SIGHUP with a valid file
    that drops a job makes that job's `up` stale (absent from instant queries)
    while the others stay;
  - after SIGTERM and a restart on the same data directory, the samples
    written before are there (WAL replay);
  - /metrics of the server has prometheus_tsdb_head_series and
    prometheus_http_requests_total.

Every process started is stopped by pid; logs are printed on failure.
"""
import json
import os
import re
import shutil
import signal
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Run, check, free_port, http, main  # noqa: E402

CONFIG = """global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: self
    static_configs:
      - targets: ['127.0.0.1:{srv}']
  - job_name: file-sd
    file_sd_configs:
      - files: ['{sd}']
        refresh_interval: 1s
  - job_name: debian-node
    static_configs:
      - targets: ['127.0.0.1:{deb}']
        labels:
          flavour: go
  - job_name: our-node
    static_configs:
      - targets: ['127.0.0.1:{ours}']
        labels:
          flavour: c
"""

REPORT = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
          "scrape_samples_post_metric_relabeling", "scrape_series_added"}


def exposed(url):
    """(metric names, sample count) of a text-format /metrics page."""
    status, text = http(url)
    check(status == 200, f"{url} answers")
    names, samples = set(), 0
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)", line)
        names.add(m.group(1))
        samples += 1
    return names, samples


def query(url, q):
    status, text = http(f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": q}))
    check(status == 200, f"query {q} ({text[:200]})")
    return json.loads(text)["data"]["result"]


def wait_for(what, fn, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if fn():
            return
        time.sleep(0.2)
    check(False, what)


def body():
    src, build = sys.argv[1], sys.argv[2]
    binary = os.path.join(build, "bin")
    with Run("server-scrape") as run:
        srv_port, deb_port, our_port = free_port(), free_port(), free_port()
        run.start("debian-node-exporter",
                  ["prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{deb_port}"],
                  f"http://127.0.0.1:{deb_port}/metrics")
        run.start("prom-node-exporter",
                  [os.path.join(binary, "prom-node-exporter"),
                   f"--web.listen-address=127.0.0.1:{our_port}"],
                  f"http://127.0.0.1:{our_port}/metrics")
        cfg = os.path.join(run.tmp, "prometheus.yml")
        # file_sd: our exporter once more, with a label of the file's.
        sd_file = os.path.join(run.tmp, "targets.json")
        with open(sd_file, "w") as f:
            json.dump([{"targets": [f"127.0.0.1:{our_port}"], "labels": {"source": "file"}}], f)
        with open(cfg, "w") as f:
            f.write(CONFIG.format(srv=srv_port, deb=deb_port, ours=our_port, sd=sd_file))
        data = os.path.join(run.tmp, "data")
        url = f"http://127.0.0.1:{srv_port}"
        argv = [os.path.join(binary, "prom-server"), f"--config.file={cfg}",
                f"--storage.tsdb.path={data}", f"--web.listen-address=127.0.0.1:{srv_port}",
                "--web.enable-lifecycle"]
        server = run.start("prom-server", argv, f"{url}/-/ready")

        def all_up():
            r = query(url, "up")
            return len(r) == 4 and all(s["value"][1] == "1" for s in r)
        wait_for("every target is up", all_up)
        r = {s["metric"]["job"]: s["metric"] for s in query(url, "up")}
        check(r["debian-node"] == {"__name__": "up", "job": "debian-node", "flavour": "go",
                                   "instance": f"127.0.0.1:{deb_port}"},
              f"the Go exporter's target labels: {r['debian-node']}")
        check(r["our-node"]["flavour"] == "c" and r["self"]["instance"] == f"127.0.0.1:{srv_port}",
              "our exporter's and the server's target labels")
        check(r["file-sd"] == {"__name__": "up", "job": "file-sd", "source": "file",
                               "instance": f"127.0.0.1:{our_port}"},
              f"the file_sd target with its file's label: {r['file-sd']}")
        time.sleep(2.5)  # a few more intervals

        for job, port in (("debian-node", deb_port), ("our-node", our_port)):
            names, samples = exposed(f"http://127.0.0.1:{port}/metrics")
            status, text = http(f"{url}/api/v1/label/__name__/values?"
                                + urllib.parse.urlencode({"match[]": f'{{job="{job}"}}'}))
            stored = set(json.loads(text)["data"])
            # Series that come and go between scrapes (e.g. scrape-time
            # collector durations) are in both sets; compare names.
            check(stored == names | REPORT,
                  f"{job}: the TSDB holds the {len(names)} metric names the exporter exposes "
                  f"(missing {sorted(names - stored)[:5]}, extra {sorted(stored - names - REPORT)[:5]})")
            got = query(url, f'scrape_samples_scraped{{job="{job}"}}')
            scraped = int(float(got[0]["value"][1]))
            check(abs(scraped - samples) <= max(5, samples // 50),
                  f"{job}: scrape_samples_scraped {scraped} matches the {samples} samples exposed")
        check(query(url, 'up{job="self"}')[0]["value"][1] == "1", "the server scrapes itself")

        # A bad config is refused; scraping goes on.
        good = open(cfg).read()
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_nme: x\n")
        status, text = http(f"{url}/-/reload", data=b"", method="POST")
        check(status == 500 and "prometheus.yml:4:5" in text and "job_nme" in text,
              f"a bad reload is refused with file:line:col ({status} {text.strip()})")
        before = float(query(url, 'prometheus_tsdb_head_samples_appended_total')[0]["value"][1])
        time.sleep(1.5)
        after = float(query(url, 'prometheus_tsdb_head_samples_appended_total')[0]["value"][1])
        check(after > before, "scraping goes on after the refused reload")
        # SIGHUP with a config that drops the Go exporter's job.
        with open(cfg, "w") as f:
            f.write(good.split("  - job_name: debian-node")[0]
                    + "  - job_name: our-node" + good.split("  - job_name: our-node")[1])
        os.kill(server.pid, signal.SIGHUP)
        wait_for("the dropped job's up goes stale",
                 lambda: {s["metric"]["job"] for s in query(url, "up")}
                 == {"self", "file-sd", "our-node"})
        check(True, "the remaining targets stay up")

        # The file_sd file empties: its target goes away (stale) without a reload.
        with open(sd_file + ".tmp", "w") as f:
            json.dump([], f)
        os.rename(sd_file + ".tmp", sd_file)
        wait_for("a target removed from the file_sd file goes stale",
                 lambda: {s["metric"]["job"] for s in query(url, "up")} == {"self", "our-node"})

        status, text = http(f"{url}/metrics")
        check(status == 200 and "prometheus_tsdb_head_series " in text
              and 'prometheus_http_requests_total{code="200",handler="/api/v1/query"}' in text
              and 'prometheus_target_interval_length_seconds_count{interval="1s"}' in text
              and 'prometheus_sd_discovered_targets{config="our-node",name="scrape"} 1' in text,
              "the server's /metrics has TSDB, HTTP, scrape interval and discovery metrics")

        # Restart on the same directory: the WAL brings the data back.
        before = query(url, 'count_over_time(up{job="debian-node"}[10m])')
        n_before = int(before[0]["value"][1]) if before else 0
        run.stop(server)
        server = run.start("prom-server-2", argv, f"{url}/-/ready")
        after = query(url, 'count_over_time(up{job="debian-node"}[10m])')
        check(after and int(after[0]["value"][1]) >= n_before > 3,
              f"after a restart the {n_before} samples of the dropped job are still there")


if __name__ == "__main__":
    main(body)
