#!/usr/bin/env python3
"""server_rules.py - prom-server evaluating rules and sending alerts to
Debian's prometheus-alertmanager (0.25).

  server_rules.py <source dir> <build dir>

prom-server scrapes prom-node-exporter every second and evaluates, every
second, a recording rule over it and an alerting rule `TargetDown` (up == 0,
for: 2s, a severity label, templated summary and description, the seed
document's style) while sending alerts to a real Alertmanager.  Checks:

  - the recording rule's series appears in the TSDB with the rule's labels;
  - /api/v1/rules lists both rules healthy; /api/v1/alertmanagers lists the
    Alertmanager;
  - with the exporter stopped the alert goes pending, then firing
    (/api/v1/alerts), ALERTS{alertstate=...} series follow, and the
    Alertmanager shows it (its API /api/v2/alerts) with our labels (external
    labels added), the expanded annotations and a startsAt;
  - with the exporter back, the alert resolves: it leaves /api/v1/alerts and
    the Alertmanager no longer lists it as active;
  - the Alertmanager is found through file_sd_configs;
  - a rule file that does not parse makes POST /-/reload fail with its
    file:line:col and the old rules keep running.

Every process started is stopped by pid; logs are printed on failure.
"""
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Run, check, free_port, http, main  # noqa: E402

RULES = """groups:
  - name: node
    interval: 1s
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels:
          origin: rule
      - alert: TargetDown
        expr: up{job="node"} == 0
        for: 2s
        labels:
          severity: page
        annotations:
          summary: "Target {{ $labels.instance }} down"
          description: "{{ $labels.job }} has been down: up is {{ $value }}"
"""


def query(url, q):
    status, text = http(f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": q}))
    check(status == 200, f"query {q} ({text[:200]})")
    return json.loads(text)["data"]["result"]


def wait_for(what, fn, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.25)
    check(False, what)


def body():
    build = sys.argv[2]
    binary = os.path.join(build, "bin")
    with Run("server-rules") as run:
        am_port, am_cluster, node_port, srv_port = free_port(), free_port(), free_port(), free_port()
        am = f"http://127.0.0.1:{am_port}"
        with open(os.path.join(run.tmp, "am.yml"), "w") as f:
            f.write("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n")
        run.start("alertmanager",
                  ["prometheus-alertmanager", f"--web.listen-address=127.0.0.1:{am_port}",
                   f"--cluster.listen-address=127.0.0.1:{am_cluster}",
                   f"--storage.path={run.tmp}/am", f"--config.file={run.tmp}/am.yml"],
                  None)
        wait_for("the Alertmanager is ready", lambda: http(f"{am}/-/ready")[0] == 200)
        node_argv = [os.path.join(binary, "prom-node-exporter"),
                     f"--web.listen-address=127.0.0.1:{node_port}"]
        node = run.start("prom-node-exporter", node_argv, f"http://127.0.0.1:{node_port}/metrics")
        rules = os.path.join(run.tmp, "rules.yml")
        with open(rules, "w") as f:
            f.write(RULES)
        # The Alertmanager is found through file_sd, as upstream allows.
        am_sd = os.path.join(run.tmp, "alertmanagers.json")
        with open(am_sd, "w") as f:
            json.dump([{"targets": [f"127.0.0.1:{am_port}"]}], f)
        cfg = os.path.join(run.tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
  external_labels:
    monitor: test
rule_files: ['{rules}']
alerting:
  alertmanagers:
    - file_sd_configs:
        - files: ['{am_sd}']
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['127.0.0.1:{node_port}']
""")
        url = f"http://127.0.0.1:{srv_port}"
        run.start("prom-server", [os.path.join(binary, "prom-server"), f"--config.file={cfg}",
                                  f"--storage.tsdb.path={run.tmp}/data",
                                  f"--web.listen-address=127.0.0.1:{srv_port}",
                                  "--web.enable-lifecycle", "--rules.alert.resend-delay=1s"],
                  f"{url}/-/ready")

        rec = wait_for("the recording rule's series appears",
                       lambda: query(url, "job:up:sum"))
        check(rec[0]["metric"] == {"__name__": "job:up:sum", "job": "node", "origin": "rule"}
              and rec[0]["value"][1] == "1", f"job:up:sum{{job=node}} is 1 ({rec})")
        status, text = http(f"{url}/api/v1/rules")
        groups = json.loads(text)["data"]["groups"]
        check(status == 200 and len(groups) == 1 and len(groups[0]["rules"]) == 2
              and all(r["health"] == "ok" for r in groups[0]["rules"]),
              f"/api/v1/rules lists both rules healthy ({text[:300]})")
        wait_for("/api/v1/alertmanagers lists the one file_sd found",
                 lambda: json.loads(http(f"{url}/api/v1/alertmanagers")[1])["data"]
                 ["activeAlertmanagers"] == [{"url": f"http://127.0.0.1:{am_port}/api/v2/alerts"}])

        run.stop(node)  # the target goes down
        pending = wait_for("the alert goes pending", lambda: [
            a for a in json.loads(http(f"{url}/api/v1/alerts")[1])["data"]["alerts"]
            if a["state"] == "pending"])
        check(pending[0]["labels"]["alertname"] == "TargetDown", f"pending: {pending}")
        wait_for("the alert fires", lambda: [
            a for a in json.loads(http(f"{url}/api/v1/alerts")[1])["data"]["alerts"]
            if a["state"] == "firing"])
        wait_for("ALERTS{alertstate=firing} is written",
                 lambda: query(url, 'ALERTS{alertname="TargetDown",alertstate="firing"}'))

        def at_am():
            status, text = http(f"{am}/api/v2/alerts")
            return [a for a in json.loads(text) if a["labels"].get("alertname") == "TargetDown"] \
                if status == 200 else []
        got = wait_for("the Alertmanager shows the alert", at_am)[0]
        check(got["labels"] == {"alertname": "TargetDown", "severity": "page", "job": "node",
                                "instance": f"127.0.0.1:{node_port}", "monitor": "test"},
              f"with our labels and the external label: {got['labels']}")
        check(got["annotations"] == {"summary": f"Target 127.0.0.1:{node_port} down",
                                     "description": "node has been down: up is 0"},
              f"with the expanded annotations: {got['annotations']}")
        check(got["startsAt"] and got["status"]["state"] == "active",
              f"active since {got['startsAt']}")

        status, text = http(f"{url}/metrics")
        check(f'prometheus_rule_evaluations_total{{rule_group="{rules};node"}}' in text
              and 'prometheus_rule_group_iterations_missed_total' in text
              and f'prometheus_notifications_sent_total{{alertmanager="http://127.0.0.1:{am_port}/api/v2/alerts"}}'
              in text and "prometheus_notifications_dropped_total 0" in text,
              "/metrics has the rule and notification metrics")

        # A broken rule file is refused; the running rules stay.
        with open(rules, "w") as f:
            f.write(RULES.replace("expr: sum by (job) (up)", "expr: sum by (job) (up"))
        status, text = http(f"{url}/-/reload", data=b"", method="POST")
        check(status == 500 and "rules.yml:" in text, f"a bad rule file fails the reload ({text.strip()})")
        with open(rules, "w") as f:
            f.write(RULES)

        node = run.start("prom-node-exporter-2", node_argv, f"http://127.0.0.1:{node_port}/metrics")
        wait_for("the alert resolves in prom-server", lambda: not [
            a for a in json.loads(http(f"{url}/api/v1/alerts")[1])["data"]["alerts"]
            if a["labels"]["alertname"] == "TargetDown"])
        wait_for("the Alertmanager no longer lists it as active",
                 lambda: not [a for a in at_am() if a["status"]["state"] == "active"])


if __name__ == "__main__":
    main(body)
