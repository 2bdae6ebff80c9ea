#!/usr/bin/env python3
"""Debian's Prometheus (2.42) scrapes prom-pushgateway with honor_labels: true,
as the Pushgateway README prescribes; its query API then shows the pushed
series with the job and grouping labels of their group (not the scrape
job's), a histogram queryable with histogram_quantile, and the gateway's own
pushgateway_build_info under the scrape job.

Usage: pushgateway_prometheus.py <source dir> <build dir>
"""
import json
import os
import subprocess
import sys
import time
import urllib.parse

from pushgateway_common import free_port, mktemp, ours, request

PROMETHEUS = "/usr/bin/prometheus"


def query(base, q):
    status, body, _ = request(base + "/api/v1/query?query=" + urllib.parse.quote(q))
    if status != 200:
        return []
    return json.loads(body)["data"]["result"]


def main():
    build = sys.argv[2]
    tmp = mktemp("prom-pgw-prometheus-")
    gw = ours(build, tmp).start()
    pushes = [
        ("/metrics/job/batch/zone/eu", b"# TYPE processed_total counter\nprocessed_total 42\n"
         b"# TYPE dur histogram\ndur_bucket{le=\"1\"} 2\ndur_bucket{le=\"10\"} 4\n"
         b"dur_sum 12\ndur_count 4\n"),
        ("/metrics/job/batch/zone/us", b"# TYPE processed_total counter\nprocessed_total 7\n"),
        ("/metrics/job@base64/Y3Jvbi9uaWdodGx5/instance/host-1", b"last_run_ok 1\n"),
    ]
    for path, body in pushes:
        assert request(gw.url + path, "PUT", body)[0] == 200, path
    port = free_port()
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
scrape_configs:
  - job_name: pushgateway
    honor_labels: true
    static_configs:
      - targets: ['127.0.0.1:{gw.port}']
""")
    log = open(os.path.join(tmp, "prometheus.log"), "w")
    prom = subprocess.Popen([PROMETHEUS, f"--config.file={cfg}",
                             f"--storage.tsdb.path={os.path.join(tmp, 'data')}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        series = []
        for _ in range(300):
            series = query(base, "processed_total")
            if len(series) == 2 and query(base, "last_run_ok"):
                break
            time.sleep(0.2)
        got = sorted((s["metric"].get("job"), s["metric"].get("zone"), s["value"][1])
                     for s in series)
        assert got == [("batch", "eu", "42"), ("batch", "us", "7")], f"processed_total: {got}"
        last = query(base, "last_run_ok")
        assert len(last) == 1 and last[0]["metric"]["job"] == "cron/nightly" \
            and last[0]["metric"]["instance"] == "host-1", f"last_run_ok: {last}"
        q = query(base, "histogram_quantile(0.5, dur_bucket)")
        assert len(q) == 1 and q[0]["metric"].get("zone") == "eu", f"histogram: {q}"
        own = query(base, 'pushgateway_build_info{job="pushgateway"}')
        assert len(own) == 1, f"build info: {own}"
        up = query(base, 'up{job="pushgateway"}')
        assert up and up[0]["value"][1] == "1", f"up: {up}"
    finally:
        prom.terminate()
        prom.wait(30)
        gw.stop()
    print("OK: Prometheus 2.42 scraped the pushed series with their grouping labels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
