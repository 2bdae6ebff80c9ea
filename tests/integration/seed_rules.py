#!/usr/bin/env python3
"""seed_rules.py - the seed document's rule files, live, against the seed's
example application (example-custom-exporter).

  seed_rules.py <source dir> <build dir>

examples/alerts.yml (HighRequestLatency: http_request_duration_seconds > 1
for 10m, severity warning, templated summary and description) and
examples/rules.yml (job:http_requests:rate5m, interval 5m) are used as they
are except that `for: 10m` becomes `for: 3s` and `interval: 5m` becomes
`interval: 1s`, so the test takes seconds.  The example application exposes
app_request_latency_seconds and app_request_count (the seed's own names);
the scrape config renames them to the names the seed's rules use with
metric_relabel_configs.  The application's latency is driven through its
--latency-file:

  - the recording rule's series job:http_requests:rate5m{job="app"} appears;
  - latency 0.2 s: no alert;
  - latency 2.5 s: HighRequestLatency goes pending, then firing after 3 s,
    with severity="warning" and the annotations expanded
    ("High request latency on <instance>", "Request latency is above 1s
    (current value: 2.5s)"), and ALERTS{alertstate="firing"} is written;
  - latency 0.1 s: the alert resolves (it leaves /api/v1/alerts).
"""
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Run, check, free_port, http, main  # noqa: E402


def query(url, q):
    status, text = http(f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": q}))
    check(status == 200, f"query {q}")
    return json.loads(text)["data"]["result"]


def alerts(url):
    status, text = http(f"{url}/api/v1/alerts")
    return json.loads(text)["data"]["alerts"] if status == 200 else []


def wait_for(what, fn, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.25)
    check(False, what)


def body():
    src, build = sys.argv[1], sys.argv[2]
    binary = os.path.join(build, "bin")
    with Run("seed-rules") as run:
        latency = os.path.join(run.tmp, "latency")
        with open(latency, "w") as f:
            f.write("0.2\n")
        app_port, srv_port = free_port(), free_port()
        run.start("example-custom-exporter",
                  [os.path.join(binary, "example-custom-exporter"), "--port", str(app_port),
                   "--interval-ms", "100", "--latency-file", latency],
                  f"http://127.0.0.1:{app_port}/metrics")
        alerts_yml = open(os.path.join(src, "examples", "alerts.yml")).read()
        rules_yml = open(os.path.join(src, "examples", "rules.yml")).read()
        check("for: 10m" in alerts_yml and "interval: 5m" in rules_yml,
              "the seed's rule files say for: 10m and interval: 5m")
        with open(os.path.join(run.tmp, "alerts.yml"), "w") as f:
            f.write(alerts_yml.replace("for: 10m", "for: 3s"))
        with open(os.path.join(run.tmp, "rules.yml"), "w") as f:
            f.write(rules_yml.replace("interval: 5m", "interval: 1s"))
        cfg = os.path.join(run.tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - alerts.yml
  - rules.yml
scrape_configs:
  - job_name: app
    static_configs:
      - targets: ['127.0.0.1:{app_port}']
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: app_request_latency_seconds
        target_label: __name__
        replacement: http_request_duration_seconds
      - source_labels: [__name__]
        regex: app_request_count(_total)?
        target_label: __name__
        replacement: http_requests_total
""")
        url = f"http://127.0.0.1:{srv_port}"
        run.start("prom-server", [os.path.join(binary, "prom-server"), f"--config.file={cfg}",
                                  f"--storage.tsdb.path={run.tmp}/data",
                                  f"--web.listen-address=127.0.0.1:{srv_port}"],
                  f"{url}/-/ready")
        rec = wait_for("the recording rule's series appears",
                       lambda: query(url, 'job:http_requests:rate5m{job="app"}'))
        check(float(rec[0]["value"][1]) > 0, f"job:http_requests:rate5m is positive ({rec})")
        time.sleep(2)
        check(not alerts(url), "latency 0.2 s: no alert")

        with open(latency, "w") as f:
            f.write("2.5\n")
        pending = wait_for("HighRequestLatency goes pending",
                           lambda: [a for a in alerts(url) if a["state"] == "pending"])
        firing = wait_for("HighRequestLatency fires after 3 s",
                          lambda: [a for a in alerts(url) if a["state"] == "firing"])
        a = firing[0]
        instance = f"127.0.0.1:{app_port}"
        check(a["labels"]["alertname"] == "HighRequestLatency"
              and a["labels"]["severity"] == "warning", f"labels: {a['labels']}")
        check(a["annotations"] == {
            "summary": f"High request latency on {instance}",
            "description": "Request latency is above 1s (current value: 2.5s)"},
            f"annotations: {a['annotations']}")
        check(pending[0]["labels"] == a["labels"], "the pending alert is the one that fired")
        wait_for("ALERTS{alertstate=firing} is written",
                 lambda: query(url, 'ALERTS{alertname="HighRequestLatency",alertstate="firing"}'))

        with open(latency, "w") as f:
            f.write("0.1\n")
        wait_for("the alert resolves", lambda: not alerts(url))


if __name__ == "__main__":
    main(body)
