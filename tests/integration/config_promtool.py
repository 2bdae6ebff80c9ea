#!/usr/bin/env python3
"""config_promtool.py - our prometheus.yml loader (server/config) against
Debian's `promtool check config` (Prometheus 2.42).

  config_promtool.py <source dir> <build dir>

Writes the seed document's configuration snippets, the repository's
examples/prometheus.yml and a set of invalid variants to files, and checks
each with promtool and with config_check --upstream (our loader with
prom-server's extension keys refused, so that both judge the same language):

  - where 2.42 and 3.x agree, our verdict (loads / refused) equals promtool's;
  - where Prometheus 3.x changed the rules since 2.42 (new checks, new keys,
    Alertmanager API v1 gone) the row says so, and ours follows 3.x;
  - every refusal of ours names file:line:col and carries the words of
    upstream's message;
  - without --upstream the seed document's storage and query blocks load
    (prom-server's config-file spellings of flags), although both promtool
    and 3.x refuse them.

promtool refuses a config whose rule files or credential files are missing,
so every file such a config names is created first.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Run, check, find_tool, main  # noqa: E402

SEED_MAIN = """global:
  scrape_interval: 15s
  evaluation_interval: 15s
  external_labels:
    monitor: 'example-monitor'

scrape_configs:
  - job_name: 'prometheus'
    static_configs:
      - targets: ['localhost:9090']

  - job_name: 'node-exporter'
    static_configs:
      - targets: ['localhost:9100']

alerting:
  alertmanagers:
    - static_configs:
      - targets: ['localhost:9093']
"""

SEED_EC2 = """scrape_configs:
  - job_name: 'ec2-nodes'
    ec2_sd_configs:
      - region: us-west-2
        access_key: <access_key>
        secret_key: <secret_key>
        port: 9100

    relabel_configs:
      - source_labels: [__meta_ec2_tag_Name]
        target_label: instance
      - source_labels: [__meta_ec2_availability_zone]
        target_label: zone
"""

SEED_FEDERATE = """scrape_configs:
  - job_name: 'federate'
    scrape_interval: 15s
    honor_labels: true
    metrics_path: '/federate'
    params:
      'match[]':
        - '{job="prometheus"}'
        - '{__name__=~"job:.*"}'
    static_configs:
      - targets:
        - 'prometheus-1:9090'
        - 'prometheus-2:9090'
"""

SEED_ALERTING = """alerting:
  alert_relabel_configs:
    - source_labels: [severity]
      regex: warning|critical
      action: keep
  alertmanagers:
    - scheme: https
      static_configs:
        - targets: ['alertmanager:9093']
"""

SEED_AUTH = """scrape_configs:
  - job_name: app
    basic_auth:
      username: admin
      password_file: {dir}/password.txt
    static_configs:
      - targets: ['localhost:8000']
"""

SEED_STORAGE = """storage:
  tsdb:
    path: /data
    retention.time: 15d
    retention.size: 512GB
    wal-compression: true
    min-block-duration: 2h
    max-block-duration: 24h
"""

SEED_QUERY = """query:
  max-samples: 50000000
  timeout: 2m
  max-concurrency: 20
  lookback-delta: 5m
"""

SEED_THANOS = """thanos:
  image: thanosio/thanos:v0.24.0
  args:
    - "sidecar"
"""

SEED_TLS = """scrape_configs:
  - job_name: tls
    tls_config:
      cert_file: {dir}/cert.pem
      key_file: {dir}/key.pem
      client_auth_type: "RequireAndVerifyClientCert"
      client_ca_file: {dir}/ca.pem
"""

JOB = "scrape_configs:\n  - job_name: a\n"

# (name, yaml, promtool 2.42 accepts, 3.x and we accept, words of the message)
CASES = [
    ("seed_main", SEED_MAIN, True, True, None),
    ("seed_ec2", SEED_EC2, True, True, None),
    ("seed_federate", SEED_FEDERATE, True, True, None),
    ("seed_alerting", SEED_ALERTING, True, True, None),
    ("seed_auth", SEED_AUTH, True, True, None),
    ("seed_storage", SEED_STORAGE, False, False, "storage.tsdb.path"),
    ("seed_query", SEED_QUERY, False, False, "query block"),
    ("seed_thanos", SEED_THANOS, False, False, 'unknown field "thanos"'),
    ("seed_tls", SEED_TLS, False, False, 'unknown field "client_auth_type"'),
    ("unknown_field", JOB + "    scrape_intervall: 15s\n", False, False,
     'unknown field "scrape_intervall"'),
    ("job_missing", "scrape_configs:\n  - static_configs: [{targets: ['a:1']}]\n", False, False,
     "job_name is empty"),
    ("job_dup", JOB + "  - job_name: a\n", False, False,
     'found multiple scrape configs with job name "a"'),
    ("timeout", JOB + "    scrape_interval: 5s\n    scrape_timeout: 10s\n", False, False,
     "scrape timeout greater than scrape interval"),
    ("global_timeout", "global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n", False, False,
     "global scrape timeout greater than scrape interval"),
    ("duration", "global:\n  scrape_interval: 15\n", False, False,
     'not a valid duration string: "15"'),
    ("bearer_both", JOB + "    bearer_token: t\n    bearer_token_file: /f\n", False, False,
     "at most one of bearer_token & bearer_token_file must be configured"),
    ("auth_basic_type", JOB + "    authorization:\n      type: Basic\n", False, False,
     'authorization type cannot be set to "basic"'),
    ("body_size", JOB + "    body_size_limit: 100\n", False, False,
     "units: unknown unit  in 100"),
    ("relabel_regex", JOB + "    relabel_configs:\n      - regex: abc(def\n", False, False,
     "error parsing regexp: missing closing )"),
    ("relabel_action", JOB + "    relabel_configs:\n      - action: copy\n", False, False,
     'unknown relabel action "copy"'),
    ("relabel_hashmod", JOB + "    relabel_configs:\n      - action: hashmod\n"
     "        target_label: x\n", False, False,
     "relabel configuration for hashmod requires non-zero modulus"),
    ("labeldrop", JOB + "    relabel_configs:\n      - action: labeldrop\n        regex: x\n"
     "        source_labels: [a]\n", False, False,
     "labeldrop action requires only 'regex', and no other fields"),
    ("url_target", JOB + "    static_configs: [{targets: ['http://bad']}]\n", False, False,
     '"http://bad" is not a valid hostname'),
    ("rule_glob", "rule_files: ['my/*/rule']\n", False, False, "invalid rule file path"),
    ("dns_port", JOB + "    dns_sd_configs: [{names: [x], type: A}]\n", False, False,
     "a port is required in DNS-SD configs"),
    ("file_sd", JOB + "    file_sd_configs: [{files: ['t.txt']}]\n", False, False,
     'path name "t.txt" is not valid for file discovery'),
    ("ec2_filter", JOB + "    ec2_sd_configs: [{region: r, filters: [{name: x}]}]\n", False,
     False, "EC2 SD configuration filter values cannot be empty"),
    ("rw_no_url", "remote_write:\n  - name: x\n", False, False, "url for remote_write is empty"),
    # Prometheus 3.x refuses these; 2.42 did not check them yet.
    ("api_v1", "alerting:\n  alertmanagers:\n    - api_version: v1\n", True, False,
     "expected Alertmanager api version to be one of [v2] but got v1"),
    ("queue_shards", "remote_write:\n  - url: http://a/\n    queue_config:\n"
     "      min_shards: 10\n      max_shards: 5\n", True, False,
     "remote write queue min_shards must not be greater than max_shards"),
    # Keys 2.42 does not know yet (3.x: loads).
    ("protocols", JOB + "    scrape_protocols: [PrometheusText0.0.4]\n", False, True, None),
    ("no_proxy", JOB + "    proxy_url: http://p:1/\n    no_proxy: localhost\n", False, True,
     None),
]


def check_case(run, tool, name, yaml, old_ok, new_ok, words):
    path = os.path.join(run.tmp, name + ".yml")
    with open(path, "w") as f:
        f.write(yaml.replace("{dir}", run.tmp))
    pt = subprocess.run(["promtool", "check", "config", path], capture_output=True, text=True)
    check((pt.returncode == 0) == old_ok,
          f"{name}: promtool 2.42 {'accepts' if old_ok else 'refuses'} it "
          f"({(pt.stdout + pt.stderr).strip()[-200:]})")
    ours = subprocess.run([tool, "--upstream", path], capture_output=True, text=True)
    line = ours.stdout.strip().splitlines()[0] if ours.stdout.strip() else ours.stderr
    check((ours.returncode == 0) == new_ok,
          f"{name}: we {'load' if new_ok else 'refuse'} it as Prometheus 3.x does ({line})")
    if not new_ok:
        check(re.match(r"ERROR " + re.escape(path) + r":\d+:\d+: ", line) is not None,
              f"{name}: the message names file:line:col ({line})")
        check(words in line, f"{name}: the message says {words!r}")


def body():
    src, build = sys.argv[1], sys.argv[2]
    tool = find_tool(build, "config_check")
    with Run("config-promtool") as run:
        for f in ("password.txt", "cert.pem", "key.pem", "ca.pem"):
            with open(os.path.join(run.tmp, f), "w") as fh:
                fh.write("x\n")
        for case in CASES:
            check_case(run, tool, *case)

        # The repository's example, with the rule files it names.
        example = os.path.join(src, "examples", "prometheus.yml")
        pt = subprocess.run(["promtool", "check", "config", example], capture_output=True,
                            text=True)
        check(pt.returncode == 0, f"promtool accepts examples/prometheus.yml ({pt.stdout[-200:]})")
        ours = subprocess.run([tool, "--upstream", "--render", example], capture_output=True,
                              text=True)
        check(ours.returncode == 0, f"we load examples/prometheus.yml ({ours.stdout[:200]})")
        check("job_name: pushgateway" in ours.stdout, "the rendered example has its jobs")

        # Without --upstream, the seed's storage and query blocks load.
        for name in ("seed_storage", "seed_query"):
            path = os.path.join(run.tmp, name + ".yml")
            ours = subprocess.run([tool, path], capture_output=True, text=True)
            check(ours.returncode == 0, f"{name}: loads as prom-server's flag spelling")
    print("PASS")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    main(body)
