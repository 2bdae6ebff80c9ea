#!/usr/bin/env python3
"""tool_rules.py - prom-tool's rule commands against Debian's promtool (2.42):

  tool_rules.py <source dir> <build dir>

  - test rules: the unit-test files below (recording rules, `for`,
    `keep_firing_for`, templates in labels and annotations, external labels
    and URL, missing and stale series, group_eval_order, the expanding
    notation, the seed's alert and recording rule, and failing cases: wrong
    values, labels, annotations, missing or unexpected alerts, NaN, broken
    rule and test files, a rule that fails to evaluate) run under both; each
    gets the same verdict (exit status, SUCCESS or FAILED) from both, and
    where the failure is a comparison both print the same messages;
  - test rules' own flags (3.x only): --run picks test groups by name,
    --junit writes upstream's XML, --debug dumps the data, --diff;
  - check rules: the seed document's alerts.yml (its description quoted) and
    recording rule, examples/alerts.yml and rules.yml pass both with the same
    output; broken rule files fail both, ours naming file:line:col (the
    seed's unquoted description with a hint to quote it); duplicate rules are
    a lint finding (exit 0, 3 with --lint-fatal); stdin is read when no file
    is given (3.x); check config checks the rule files it finds as promtool;
  - query instant|range|series|labels against a prom-server started here:
    the same output as promtool's, -o json too.

Where 2.42 and 3.x (our specification) differ the files avoid it: every test
group sets `interval` (2.42 loads input series at interval 0 without it),
range windows and lookback never end exactly on a sample (3.x's windows are
left-open), group `labels`, `query_offset` and start_timestamp are 3.x only.
promtool 2.42 prints "Unit Testing:  <file>" first, 3.x does not: that line
is dropped before comparing.
"""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Run, check, free_port, http, main  # noqa: E402

# ---- Rule files

RULES = {
    "recording.yml": """groups:
  - name: recording
    rules:
      - record: job:http_requests:sum
        expr: sum by (job) (http_requests_total)
      - record: job:http_requests:rate2m
        expr: sum by (job) (rate(http_requests_total[2m]))
        labels:
          origin: rule
      - record: instance:cpu:ratio
        expr: cpu_busy / cpu_total
""",
    "alerts.yml": """groups:
  - name: availability
    rules:
      - alert: InstanceDown
        expr: up == 0
        for: 5m
        labels:
          severity: page
        annotations:
          summary: "Instance {{ $labels.instance }} down"
          description: "{{ $labels.instance }} of job {{ $labels.job }} has been down for more than 5 minutes."
      - alert: HighErrorRate
        expr: errors / requests > 0.1
        for: 2m
        labels:
          severity: ticket
        annotations:
          value: "{{ $value | humanizePercentage }}"
      - alert: Flapping
        expr: flap > 0
        keep_firing_for: 3m
        labels:
          severity: info
      - alert: NoHeartbeat
        expr: absent(heartbeat)
        for: 1m
""",
    "templates.yml": """groups:
  - name: templates
    rules:
      - alert: DiskFilling
        expr: disk_free_bytes / disk_size_bytes < 0.2
        labels:
          severity: '{{ if lt $value 0.1 }}critical{{ else }}warning{{ end }}'
          mount: '{{ $labels.mountpoint | toUpper }}'
        annotations:
          summary: '{{ $labels.device }} on {{ $labels.instance }} has {{ $value | humanizePercentage }} free'
          free: '{{ with query "disk_free_bytes" }}{{ . | first | value | humanize1024 }}B{{ end }}'
          fixed: '{{ printf "%.2f" $value }}'
          title: '{{ "disk filling up" | title }}'
          dur: '{{ 90061 | humanizeDuration }}'
          big: '{{ 1234567.0 | humanize }}'
          replaced: '{{ reReplaceAll "sd(.)" "disk-$1" $labels.device }}'
          kind: '{{ if match "^sd" $labels.device }}scsi{{ else }}other{{ end }}'
          where: '{{ $externalLabels.region }} {{ $externalURL }}'
          broken: '{{ humanize "not a number" }}'
""",
    "chain.yml": """groups:
  - name: first
    rules:
      - record: total:sum
        expr: sum(x)
  - name: second
    rules:
      - record: total:double
        expr: total:sum * 2
""",
    "seed_alerts.yml": """groups:
- name: example-alert-rules
  rules:
  - alert: HighRequestLatency
    expr: http_request_duration_seconds > 1
    for: 10m
    labels:
      severity: warning
    annotations:
      summary: High request latency on {{ $labels.instance }}
      description: "Request latency is above 1s (current value: {{ $value }}s)"
""",
    "seed_rules.yml": """groups:
  - name: example-rules
    interval: 5m
    rules:
      - record: job:http_requests:rate5m
        expr: sum by (job) (rate(http_requests_total[5m]))
""",
    "dup_series.yml": """groups:
  - name: broken-at-runtime
    rules:
      - record: merged
        expr: '{__name__=~"left|right"}'
""",
    "syntax_error.yml": """groups:
  - name: bad
    rules:
      - record: ok:rule
        expr: sum(up
""",
}

# ---- Unit-test files: (text, passes, same stderr as promtool)

UP_DOWN = """    input_series:
      - series: 'up{job="node", instance="n1:9100"}'
        values: '1 1 0x10'
"""

TESTS = {
    "recording.test.yml": ("""rule_files: [recording.yml]
evaluation_interval: 1m
tests:
  - name: sums and rates
    interval: 1m
    input_series:
      - series: 'http_requests_total{job="api", instance="a"}'
        values: '100+60x20'
      - series: 'http_requests_total{job="api", instance="b"}'
        values: '200+120x20'
      - series: 'http_requests_total{job="web", instance="c"}'
        values: '50+30x20'
      - series: 'cpu_busy{instance="a"}'
        values: '1+1x10'
      - series: 'cpu_total{instance="a"}'
        values: '4+4x10'
    promql_expr_test:
      - expr: job:http_requests:sum
        eval_time: 5m
        exp_samples:
          - labels: 'job:http_requests:sum{job="api"}'
            value: 1200
          - labels: 'job:http_requests:sum{job="web"}'
            value: 200
      - expr: job:http_requests:rate2m
        eval_time: 10m
        exp_samples:
          - labels: 'job:http_requests:rate2m{job="api", origin="rule"}'
            value: 3
          - labels: 'job:http_requests:rate2m{job="web", origin="rule"}'
            value: 0.5
      - expr: instance:cpu:ratio
        eval_time: 3m
        exp_samples:
          - labels: 'instance:cpu:ratio{instance="a"}'
            value: 0.25
""", True, False),
    "for.test.yml": ("""rule_files: [alerts.yml]
evaluation_interval: 1m
tests:
  - name: pending then firing
    interval: 1m
""" + UP_DOWN + """    alert_rule_test:
      - eval_time: 3m
        alertname: InstanceDown
        exp_alerts: []
      - eval_time: 6m
        alertname: InstanceDown
      - eval_time: 7m
        alertname: InstanceDown
        exp_alerts:
          - exp_labels:
              severity: page
              instance: n1:9100
              job: node
            exp_annotations:
              summary: Instance n1:9100 down
              description: n1:9100 of job node has been down for more than 5 minutes.
      - eval_time: 11m30s
        alertname: InstanceDown
        exp_alerts:
          - exp_labels: {severity: page, instance: "n1:9100", job: node}
            exp_annotations:
              summary: Instance n1:9100 down
              description: n1:9100 of job node has been down for more than 5 minutes.
    promql_expr_test:
      - expr: ALERTS{alertname="InstanceDown", alertstate="pending"}
        eval_time: 4m
        exp_samples:
          - labels: 'ALERTS{alertname="InstanceDown", alertstate="pending", instance="n1:9100", job="node", severity="page"}'
            value: 1
      - expr: ALERTS_FOR_STATE{alertname="InstanceDown"}
        eval_time: 8m
        exp_samples:
          - labels: 'ALERTS_FOR_STATE{alertname="InstanceDown", instance="n1:9100", job="node", severity="page"}'
            value: 120
""", True, False),
    "resolved.test.yml": ("""rule_files: [alerts.yml]
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="node", instance="n2"}'
        values: '0x6 1x4'
    alert_rule_test:
      - eval_time: 5m
        alertname: InstanceDown
        exp_alerts:
          - exp_labels: {severity: page, instance: n2, job: node}
            exp_annotations:
              summary: Instance n2 down
              description: n2 of job node has been down for more than 5 minutes.
      - eval_time: 8m
        alertname: InstanceDown
        exp_alerts: []
    promql_expr_test:
      - expr: count(ALERTS{alertstate="firing"})
        eval_time: 6m
        exp_samples:
          - value: 2
      - expr: ALERTS{alertname!="NoHeartbeat"}
        eval_time: 7m
        exp_samples: []
""", True, False),
    "keep_firing_for.test.yml": ("""rule_files: [alerts.yml]
evaluation_interval: 1m
tests:
  - name: keeps firing
    interval: 1m
    input_series:
      - series: flap{host="h1"}
        values: '1 1 0 0 0 0 0 0 0'
    alert_rule_test:
      - eval_time: 1m
        alertname: Flapping
        exp_alerts:
          - exp_labels: {host: h1, severity: info}
      - eval_time: 4m
        alertname: Flapping
        exp_alerts:
          - exp_labels: {host: h1, severity: info}
      - eval_time: 5m
        alertname: Flapping
        exp_alerts: []
""", True, False),
    "templates.test.yml": ("""rule_files: [templates.yml]
evaluation_interval: 1m
tests:
  - name: templates
    interval: 1m
    external_labels:
      region: eu-west
    external_url: https://prom.example.com
    input_series:
      - series: 'disk_free_bytes{device="sda1", instance="h1", mountpoint="/data"}'
        values: '1610612736x5'
      - series: 'disk_size_bytes{device="sda1", instance="h1", mountpoint="/data"}'
        values: '10737418240x5'
    alert_rule_test:
      - eval_time: 2m
        alertname: DiskFilling
        exp_alerts:
          - exp_labels:
              device: sda1
              instance: h1
              mountpoint: /data
              severity: warning
              mount: /DATA
            exp_annotations:
              summary: sda1 on h1 has 15% free
              free: 1.5GiB
              fixed: "0.15"
              title: Disk Filling Up
              dur: 1d 1h 1m 1s
              big: 1.235M
              replaced: disk-a1
              kind: scsi
              where: eu-west https://prom.example.com
              broken: '<error expanding template: error executing template __alert_DiskFilling: template: __alert_DiskFilling:1:115: executing "__alert_DiskFilling" at <humanize "not a number">: error calling humanize: strconv.ParseFloat: parsing "not a number": invalid syntax>'
""", True, False),
    "missing.test.yml": ("""rule_files: [alerts.yml]
tests:
  - name: nothing there
    interval: 1m
    input_series:
      - series: other{job="x"}
        values: '1x5'
    promql_expr_test:
      - expr: does_not_exist
        eval_time: 2m
        exp_samples: []
      - expr: absent(does_not_exist)
        eval_time: 2m
        exp_samples:
          - labels: '{}'
            value: 1
      - expr: up
        eval_time: 3m
        exp_samples: []
    alert_rule_test:
      - eval_time: 0m
        alertname: NoHeartbeat
        exp_alerts: []
      - eval_time: 2m
        alertname: NoHeartbeat
        exp_alerts:
          - {}
      - eval_time: 3m
        alertname: InstanceDown
        exp_alerts: []
      - eval_time: 3m
        alertname: NoSuchAlert
        exp_alerts: []
""", True, False),
    "stale.test.yml": ("""tests:
  - interval: 1m
    input_series:
      - series: gauge{k="stale"}
        values: '1 2 stale 4'
      - series: gauge{k="gap"}
        values: '7 _ _ _ _ _ _ _ _ _'
    promql_expr_test:
      - expr: gauge{k="stale"}
        eval_time: 1m30s
        exp_samples:
          - labels: 'gauge{k="stale"}'
            value: 2
      - expr: gauge{k="stale"}
        eval_time: 2m30s
        exp_samples: []
      - expr: gauge{k="stale"}
        eval_time: 3m
        exp_samples:
          - labels: 'gauge{k="stale"}'
            value: 4
      - expr: gauge{k="gap"}
        eval_time: 4m
        exp_samples:
          - labels: 'gauge{k="gap"}'
            value: 7
      - expr: gauge{k="gap"}
        eval_time: 6m
        exp_samples: []
""", True, False),
    "notation.test.yml": ("""evaluation_interval: 30s
tests:
  - name: expanding notation
    interval: 1m
    input_series:
      - series: a
        values: '1+2x3'
      - series: b
        values: '10-1.5x4'
      - series: c
        values: '_x2 5 _ 6'
      - series: d
        values: '3x3 -1 +2 1e2 Inf -Inf'
    promql_expr_test:
      - expr: a
        eval_time: 3m
        exp_samples: [{labels: a, value: 7}]
      - expr: b
        eval_time: 4m
        exp_samples: [{labels: b, value: 4}]
      - expr: c
        eval_time: 1m
        exp_samples: []
      - expr: c
        eval_time: 3m
        exp_samples: [{labels: c, value: 5}]
      - expr: c
        eval_time: 4m
        exp_samples: [{labels: c, value: 6}]
      - expr: sum_over_time(d[3m30s])
        eval_time: 3m
        exp_samples: [{value: 12}]
      - expr: d
        eval_time: 6m
        exp_samples: [{labels: d, value: 100}]
      - expr: d
        eval_time: 7m
        exp_samples: [{labels: d, value: .inf}]
      - expr: d
        eval_time: 8m
        exp_samples: [{labels: d, value: -.inf}]
      - expr: scalar(a) + 1
        eval_time: 1m
        exp_samples: [{value: 4}]
""", True, False),
    "eval_order.test.yml": ("""rule_files: [chain.yml]
group_eval_order: [first, second]
tests:
  - interval: 1m
    input_series:
      - series: x{i="1"}
        values: '1+1x5'
      - series: x{i="2"}
        values: '10+10x5'
    promql_expr_test:
      - expr: total:double
        eval_time: 2m
        exp_samples: [{labels: 'total:double', value: 66}]
""", True, False),
    "eval_order_reversed.test.yml": ("""rule_files: [chain.yml]
group_eval_order: [second, first]
tests:
  - interval: 1m
    input_series:
      - series: x{i="1"}
        values: '1+1x5'
      - series: x{i="2"}
        values: '10+10x5'
    promql_expr_test:
      - expr: total:double
        eval_time: 2m
        exp_samples: [{labels: 'total:double', value: 44}]
      - expr: total:double
        eval_time: 0m
        exp_samples: []
""", True, False),
    "external.test.yml": ("""rule_files: [templates.yml]
tests:
  - interval: 1m
    external_labels: {region: us-east}
    input_series:
      - series: 'disk_free_bytes{device="nvme0", instance="h2", mountpoint="/"}'
        values: '1x3'
      - series: 'disk_size_bytes{device="nvme0", instance="h2", mountpoint="/"}'
        values: '100x3'
    alert_rule_test:
      - eval_time: 1m
        alertname: DiskFilling
        exp_alerts:
          - exp_labels: {device: nvme0, instance: h2, mountpoint: /, severity: critical, mount: /}
            exp_annotations:
              summary: nvme0 on h2 has 1% free
              free: 1B
              fixed: "0.01"
              title: Disk Filling Up
              dur: 1d 1h 1m 1s
              big: 1.235M
              replaced: nvme0
              kind: other
              where: 'us-east '
              broken: '<error expanding template: error executing template __alert_DiskFilling: template: __alert_DiskFilling:1:115: executing "__alert_DiskFilling" at <humanize "not a number">: error calling humanize: strconv.ParseFloat: parsing "not a number": invalid syntax>'
""", True, False),
    "seed.test.yml": ("""rule_files: [seed_alerts.yml, seed_rules.yml]
evaluation_interval: 1m
tests:
  - name: seed
    interval: 1m
    input_series:
      - series: 'http_request_duration_seconds{job="app", instance="web-1:8000"}'
        values: '1.5x14 0.5x10'
      - series: 'http_requests_total{job="app", instance="web-1:8000"}'
        values: '0+60x25'
    alert_rule_test:
      - eval_time: 9m
        alertname: HighRequestLatency
        exp_alerts: []
      - eval_time: 10m
        alertname: HighRequestLatency
        exp_alerts:
          - exp_labels:
              severity: warning
              job: app
              instance: web-1:8000
            exp_annotations:
              summary: High request latency on web-1:8000
              description: "Request latency is above 1s (current value: 1.5s)"
      - eval_time: 16m
        alertname: HighRequestLatency
        exp_alerts: []
    promql_expr_test:
      - expr: job:http_requests:rate5m
        eval_time: 10m
        exp_samples:
          - labels: 'job:http_requests:rate5m{job="app"}'
            value: 1
""", True, False),
    "multi.test.yml": ("""rule_files: ['recording.y*ml', alerts.yml, 'nothing*.yml']
tests:
  - name: alpha
    interval: 1m
    input_series:
      - series: cpu_busy{instance="z"}
        values: '2x3'
      - series: cpu_total{instance="z"}
        values: '8x3'
    promql_expr_test:
      - expr: instance:cpu:ratio
        eval_time: 1m
        exp_samples: [{labels: 'instance:cpu:ratio{instance="z"}', value: 0.25}]
  - name: beta
    interval: 30s
    input_series:
      - series: 'errors{svc="s"}'
        values: '0+20x10'
      - series: 'requests{svc="s"}'
        values: '0+100x10'
    alert_rule_test:
      - eval_time: 2m
        alertname: HighErrorRate
        exp_alerts: []
      - eval_time: 3m
        alertname: HighErrorRate
        exp_alerts:
          - exp_labels: {severity: ticket, svc: s}
            exp_annotations: {value: 20%}
""", True, False),
    # ---- failing cases
    "fail_value.test.yml": ("""rule_files: [recording.yml]
tests:
  - name: wrong value
    interval: 1m
    input_series:
      - series: 'http_requests_total{job="api", instance="a"}'
        values: '1x5'
    promql_expr_test:
      - expr: job:http_requests:sum
        eval_time: 2m
        exp_samples:
          - labels: 'job:http_requests:sum{job="api"}'
            value: 2
      - expr: job:http_requests:sum * 1e-7
        eval_time: 2m
        exp_samples:
          - labels: '{job="api"}'
            value: 1.5e-7
""", False, True),
    "fail_labels.test.yml": ("""rule_files: [alerts.yml]
tests:
  - interval: 1m
""" + UP_DOWN + """    alert_rule_test:
      - eval_time: 10m
        alertname: InstanceDown
        exp_alerts:
          - exp_labels: {severity: critical, instance: "n1:9100", job: node}
            exp_annotations:
              summary: Instance n1:9100 down
              description: n1:9100 of job node has been down for more than 5 minutes.
""", False, True),
    "fail_annotation.test.yml": ("""rule_files: [alerts.yml]
tests:
  - name: wrong annotation
    interval: 1m
""" + UP_DOWN + """    alert_rule_test:
      - eval_time: 10m
        alertname: InstanceDown
        exp_alerts:
          - exp_labels: {severity: page, instance: "n1:9100", job: node}
            exp_annotations:
              summary: Instance n1:9100 is down
""", False, True),
    "fail_not_firing.test.yml": ("""rule_files: [alerts.yml]
tests:
  - name: too early
    interval: 1m
""" + UP_DOWN + """    alert_rule_test:
      - eval_time: 5m
        alertname: InstanceDown
        exp_alerts:
          - exp_labels: {severity: page, instance: "n1:9100", job: node}
""", False, True),
    "fail_unexpected.test.yml": ("""rule_files: [alerts.yml]
tests:
  - interval: 1m
""" + UP_DOWN + """    alert_rule_test:
      - eval_time: 9m
        alertname: InstanceDown
        exp_alerts: []
    promql_expr_test:
      - expr: ALERTS
        eval_time: 3m
        exp_samples: []
""", False, True),
    "fail_nan.test.yml": ("""tests:
  - interval: 1m
    input_series:
      - series: 'ratio'
        values: 'NaN NaN'
    promql_expr_test:
      - expr: ratio
        eval_time: 1m
        exp_samples: [{labels: ratio, value: .nan}]
""", False, True),
    "fail_eval.test.yml": ("""rule_files: [dup_series.yml]
tests:
  - interval: 1m
    input_series:
      - series: 'left{k="v"}'
        values: '1x3'
      - series: 'right{k="v"}'
        values: '2x3'
    promql_expr_test:
      - expr: merged
        eval_time: 2m
        exp_samples: []
""", False, False),
    "fail_rule_file.test.yml": ("""rule_files: [syntax_error.yml]
tests:
  - interval: 1m
    promql_expr_test:
      - expr: vector(1)
        eval_time: 0m
        exp_samples: [{value: 1}]
""", False, False),
    "fail_unknown_field.test.yml": ("""rule_files: [recording.yml]
tests:
  - interval: 1m
    input_serie:
      - series: x
        values: '1'
""", False, False),
    "fail_series.test.yml": ("""tests:
  - interval: 1m
    input_series:
      - series: 'x{a="b"}'
        values: '1 2 three 4'
    promql_expr_test:
      - expr: x
        eval_time: 0m
        exp_samples: [{labels: 'x{a="b"}', value: 1}]
""", False, False),
    "fail_alertname.test.yml": ("""rule_files: [alerts.yml]
tests:
  - name: no alertname
    interval: 1m
    alert_rule_test:
      - eval_time: 1m
        exp_alerts: []
""", False, True),
    "fail_group_order.test.yml": ("""rule_files: [chain.yml]
group_eval_order: [first, second, first]
tests:
  - interval: 1m
    promql_expr_test:
      - expr: vector(1)
        eval_time: 0m
        exp_samples: [{value: 1}]
""", False, True),
}

# ---- check rules

SEED_UNQUOTED = """groups:
- name: example-alert-rules
  rules:
  - alert: HighRequestLatency
    expr: http_request_duration_seconds > 1
    for: 10m
    labels:
      severity: warning
    annotations:
      summary: High request latency on {{ $labels.instance }}
      description: Request latency is above 1s (current value: {{ $value }}s)
"""

BAD_RULES = {
    # name: (text, our position)
    "seed_unquoted.yml": (SEED_UNQUOTED, "11:62"),
    "bad_expr.yml": (RULES["syntax_error.yml"], "5:15"),
    "bad_duration.yml": ("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n"
                         "        for: 5x\n", "6:14"),
    "both_names.yml": ("groups:\n  - name: g\n    rules:\n      - alert: A\n        record: b\n"
                       "        expr: up\n", "5:17"),
    "dup_group.yml": ("groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n", "4:5"),
    "unknown_key.yml": ("groups:\n  - name: g\n    rulez: []\n", "3:5"),
    "bad_template.yml": ("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n"
                         "        annotations:\n          x: '{{ humanise $value }}'\n", "7:14"),
}


# Values in promqltest's notation: the samples both load, or both refuse.
# (3.x also takes '_' between digits, "1_000"; 2.42 does not.)
NOTATIONS = ["1 2 x3", "1x", "_x", "1+x3", "1x3.5", "stalex2", "+1", "-Inf", "NaN", "0x10",
             "1e3x2", "010", ".5", "5.", "1 _x2 3", "1 2 3 ", "1-1x3", "-1+-1x2", "inf nan",
             "stale", "1 stale 2", "1x0", "_x0 4", "5+1.5x2", "1e-3+1e-3x3", "09",
             "3 _ _x2 stale", "1x2x3", "1+1x2+3", "1 1e", "0xA", "2E2", "{{sum:1 count:1}}"]


def run(argv, stdin=None):
    return subprocess.run(argv, capture_output=True, text=True, input=stdin)


def norm_out(text):
    """stdout without 2.42's "Unit Testing:" line."""
    return "\n".join(ln for ln in text.split("\n") if not ln.startswith("Unit Testing:"))


def test_rules(tool, tmp):
    d = os.path.join(tmp, "unit")
    os.makedirs(d)
    for name, text in RULES.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    passed = failed = 0
    for name, (text, passes, same_msg) in TESTS.items():
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write(text)
        ours, theirs = run([tool, "test", "rules", path]), run(["promtool", "test", "rules", path])
        want = 0 if passes else 1
        check(theirs.returncode == want,
              f"{name}: promtool says {'pass' if passes else 'fail'} "
              f"({theirs.returncode}: {theirs.stderr.strip()[:1500]})")
        check(ours.returncode == want,
              f"{name}: ours says {'pass' if passes else 'fail'} "
              f"({ours.returncode}: {ours.stderr.strip()[:1500]})")
        check(("  SUCCESS\n" in ours.stdout) == passes and ("  FAILED:" in ours.stderr) != passes,
              f"{name}: ours prints the verdict ({ours.stdout!r})")
        if same_msg:
            check(ours.stderr == theirs.stderr,
                  f"{name}: the same failure messages\n--- promtool:\n{theirs.stderr}"
                  f"--- ours:\n{ours.stderr}")
            check(norm_out(ours.stdout) == norm_out(theirs.stdout),
                  f"{name}: the same stdout ({ours.stdout!r} / {theirs.stdout!r})")
        passed += passes
        failed += not passes
    check(passed >= 10 and failed >= 10 and len(TESTS) >= 15,
          f"{len(TESTS)} unit-test files: {passed} pass and {failed} fail in both")

    # the expanding notation: what gets loaded, through count and sum
    for i, v in enumerate(NOTATIONS):
        path = os.path.join(d, f"notation{i}.yml")
        with open(path, "w") as f:
            f.write(f"""tests:
  - interval: 1m
    input_series:
      - series: x
        values: '{v}'
    promql_expr_test:
      - expr: count_over_time(x[1h])
        eval_time: 40m
        exp_samples: []
      - expr: sum_over_time(x[1h]) * 1000
        eval_time: 40m
        exp_samples: []
""")
        ours, theirs = run([tool, "test", "rules", path]), run(["promtool", "test", "rules", path])
        got = [[ln.strip() for ln in r.stderr.split("\n") if "got:" in ln] for r in (ours, theirs)]
        check(ours.returncode == theirs.returncode and got[0] == got[1]
              and ("parse error" in ours.stderr or "not supported" in ours.stderr)
              == ("parse error" in theirs.stderr),
              f"values {v!r}: the same samples or the same refusal ({got[0]} / {got[1]}; "
              f"{ours.stderr.strip()[:300]} / {theirs.stderr.strip()[:300]})")

    # several files at once: one verdict each, exit 1 when any fails
    paths = [os.path.join(d, n) for n in ("recording.test.yml", "fail_value.test.yml",
                                          "seed.test.yml")]
    ours = run([tool, "test", "rules"] + paths)
    check(ours.returncode == 1 and ours.stdout.count("  SUCCESS") == 2
          and ours.stderr.count("  FAILED:") == 1, f"three files: two pass, one fails ({ours})")

    # 3.x's flags
    multi = os.path.join(d, "multi.test.yml")
    bad_beta = open(multi).read().replace("value: 20%", "value: 25%")
    with open(os.path.join(d, "multi_bad.test.yml"), "w") as f:
        f.write(bad_beta)
    mb = os.path.join(d, "multi_bad.test.yml")
    check(run([tool, "test", "rules", mb]).returncode == 1, "multi_bad fails as a whole")
    check(run([tool, "test", "rules", "--run=alp", mb]).returncode == 0,
          "--run=alp runs only the matching group, which passes")
    check(run([tool, "test", "rules", "--run", "^beta$", "--run", "gamma", mb]).returncode == 1,
          "--run twice: either name, beta fails")
    junit = os.path.join(tmp, "junit.xml")
    r = run([tool, "test", "--junit", junit, "rules", mb, os.path.join(d, "seed.test.yml")])
    xml = open(junit).read()
    check(r.returncode == 1 and xml.startswith("<testsuites><testsuite name=\"") and
          '<testcase name="alpha"></testcase>' in xml and
          '<testcase name="beta"><failure>    name: beta,&#xA;    alertname: HighErrorRate' in xml
          and 'tests="2" failures="1" errors="0" skipped="0"' in xml
          and '<testcase name="seed"></testcase>' in xml, f"--junit writes upstream's XML: {xml}")
    r = run([tool, "test", "rules", "--debug", os.path.join(d, "eval_order.test.yml")])
    check(r.returncode == 0 and "DEBUG: Starting test unnamed#0" in r.stderr
          and "DEBUG: Dump of all data (input_series and rules) at 3s:" not in r.stderr
          and "DEBUG: Dump of all data (input_series and rules) at 2m1s:" in r.stderr
          and '{__name__="total:double"} =>\n44 @[60000]\n66 @[120000]' in r.stderr
          and "DEBUG: Test unnamed#0 finished, took " in r.stderr, f"--debug dumps ({r.stderr})")
    r = run([tool, "test", "rules", "--diff", os.path.join(d, "fail_annotation.test.yml")])
    check(r.returncode == 1 and "diff:" in r.stderr and "summary" in r.stderr
          and "\x1b[3" in r.stderr, f"--diff shows a diff ({r.stderr})")


def check_rules(tool, src, tmp):
    d = os.path.join(tmp, "check")
    os.makedirs(d)
    good = {n: RULES[n] for n in ("seed_alerts.yml", "seed_rules.yml", "alerts.yml",
                                  "recording.yml", "templates.yml")}
    paths = []
    for name, text in good.items():
        paths.append(os.path.join(d, name))
        with open(paths[-1], "w") as f:
            f.write(text)
    paths += [os.path.join(src, "examples", "alerts.yml"), os.path.join(src, "examples", "rules.yml")]
    for p in paths:
        o, t = run([tool, "check", "rules", p]), run(["promtool", "check", "rules", p])
        check(o.returncode == t.returncode == 0 and o.stdout == t.stdout,
              f"{os.path.basename(p)} passes both with the same output ({o.stdout!r} / "
              f"{t.stdout!r} {o.stderr} {t.stderr})")
    o, t = run([tool, "check", "rules"] + paths), run(["promtool", "check", "rules"] + paths)
    check(o.returncode == t.returncode == 0 and o.stdout == t.stdout,
          "all of them at once: the same output")

    for name, (text, pos) in BAD_RULES.items():
        p = os.path.join(d, name)
        with open(p, "w") as f:
            f.write(text)
        o, t = run([tool, "check", "rules", p]), run(["promtool", "check", "rules", p])
        # 2.42 prints a blank line after a file's errors; 3.x does not
        check(o.returncode == t.returncode == 1 and o.stdout == f"Checking {p}\n"
              and t.stdout.strip() == o.stdout.strip(),
              f"{name}: both refuse it ({o.returncode}, {t.returncode}: {t.stderr.strip()})")
        check(o.stderr.startswith("  FAILED:\n") and f"{p}:{pos}: " in o.stderr,
              f"{name}: ours names {pos}: {o.stderr.strip()}")
    o = run([tool, "check", "rules", os.path.join(d, "seed_unquoted.yml")])
    check("must be quoted" in o.stderr, f"the seed's unquoted ': ' gets a hint ({o.stderr})")
    o = run([tool, "check", "rules", paths[0], os.path.join(d, "bad_expr.yml"), paths[1]])
    check(o.returncode == 1 and o.stdout.count("SUCCESS") == 2,
          f"a bad file among good ones: exit 1, the others still checked ({o.stdout})")

    dup = os.path.join(d, "dup.yml")
    with open(dup, "w") as f:
        f.write("groups:\n  - name: a\n    rules:\n      - record: x\n        expr: up\n"
                "        labels: {k: v}\n  - name: b\n    rules:\n      - record: x\n"
                "        expr: up * 2\n        labels: {k: v}\n")
    o, t = run([tool, "check", "rules", dup]), run(["promtool", "check", "rules", dup])
    check(o.returncode == t.returncode == 0 and o.stderr == t.stderr and o.stdout == t.stdout,
          f"duplicate rules: a lint finding, exit 0, promtool's text ({o.stderr!r} / {t.stderr!r})")
    o, t = (run([tool, "check", "rules", "--lint-fatal", dup]),
            run(["promtool", "check", "rules", "--lint-fatal", dup]))
    check(o.returncode == t.returncode == 3, "--lint-fatal: exit 3")
    o = run([tool, "check", "rules", "--lint=none", "--lint-fatal", dup])
    check(o.returncode == 0 and "2 rules found" in o.stdout, "--lint=none: no finding")
    o = run([tool, "check", "rules"], stdin=RULES["seed_alerts.yml"])
    check(o.returncode == 0 and o.stdout == "Checking standard input\n  SUCCESS: 1 rules found\n\n",
          f"no file: standard input is checked ({o.stdout!r})")
    o = run([tool, "check", "rules"], stdin=SEED_UNQUOTED)
    check(o.returncode == 1 and "<stdin>:11:62:" in o.stderr, f"stdin errors ({o.stderr})")
    o = run([tool, "check", "rules", os.path.join(d, "nonexistent.yml")])
    check(o.returncode == 1 and "does not exist" in o.stderr, f"a missing file ({o.stderr})")

    # check config checks the rule files it finds
    cfg = os.path.join(d, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("rule_files:\n  - seed_*s.yml\n  - alerts.yml\n")
    o, t = run([tool, "check", "config", cfg]), run(["promtool", "check", "config", cfg])
    check(o.returncode == t.returncode == 0 and o.stdout == t.stdout
          and o.stdout.count("SUCCESS: 1 rules found") == 2,
          f"check config: the rule files checked as promtool ({o.stdout!r} / {t.stdout!r})")
    with open(cfg, "w") as f:
        f.write("rule_files:\n  - alerts.yml\n  - bad_expr.yml\n")
    o, t = run([tool, "check", "config", cfg]), run(["promtool", "check", "config", cfg])
    check(o.returncode == t.returncode == 1 and f"bad_expr.yml:5:15:" in o.stderr,
          f"check config: a broken rule file fails both ({o.stderr} / {t.stderr})")
    with open(cfg, "w") as f:
        f.write("rule_files:\n  - missing.yml\n")
    o, t = run([tool, "check", "config", cfg]), run(["promtool", "check", "config", cfg])
    check(o.returncode == t.returncode == 1 and "does not point to an existing file" in o.stderr,
          f"check config: a named rule file that is missing ({o.stderr} / {t.stderr})")


def wait_for(what, fn, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.25)
    check(False, what)


def query(tool, build, tmp):
    with Run("tool-query") as r:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cfg = os.path.join(r.tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write(f"global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n"
                    f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
        r.start("prom-server", [os.path.join(build, "bin", "prom-server"), f"--config.file={cfg}",
                                f"--storage.tsdb.path={r.tmp}/data",
                                f"--web.listen-address=127.0.0.1:{port}"], f"{url}/-/ready")
        wait_for("up has 5 samples", lambda: json.loads(http(
            f"{url}/api/v1/query?query=count_over_time(up[1m])")[1])["data"]["result"]
            and float(json.loads(http(f"{url}/api/v1/query?query=count_over_time(up[1m])")[1])
                      ["data"]["result"][0]["value"][1]) >= 5)
        now = int(time.time())
        cases = [
            ["instant", f"--time={now}", url, "up"],
            ["instant", f"--time={now}", url, "count by (job) (up)"],
            ["instant", f"--time={now}.5", url, "scalar(up) * 2.5"],
            ["instant", f"--time={now}", url, 'label_replace(up, "q", "a\\"b<c>&d", "", "")'],
            ["instant", f"--time={now}", url, 'up{job="none"}'],
            ["instant", f"--time={now}", url, "(0 - up) / 0"],
            ["instant", f"--time={now}", url, "up[3s]"],
            ["instant", url, "sum(up"],
            ["instant", "--time=yesterday", url, "up"],
            ["range", f"--start={now - 4}", f"--end={now}", "--step=1s", url, "up"],
            ["range", f"--start={now - 60}", f"--end={now}", url,
             '{__name__=~"up|scrape_samples_scraped"}'],
            ["range", f"--start={now}", f"--end={now - 5}", url, "up"],
            ["series", "--match=up", "--match=scrape_duration_seconds", url],
            ["series", "--match=up", f"--start={now - 60}", f"--end={now}", url],
            ["labels", url, "job"],
            ["labels", url, "__name__"],
            ["labels", "--match=up", url, "instance"],
        ]
        for c in cases:
            for fmt in ([], ["-o", "json"]):
                o, t = run([tool, "query"] + fmt + c), run(["promtool", "query"] + fmt + c)
                check((o.returncode, o.stdout, o.stderr) == (t.returncode, t.stdout, t.stderr),
                      f"query {' '.join(fmt + c)}: the same as promtool\n"
                      f"--- promtool ({t.returncode}):\n{t.stdout}{t.stderr}"
                      f"--- ours ({o.returncode}):\n{o.stdout}{o.stderr}")
        o = run([tool, "query", "instant", "http://127.0.0.1:1", "up"])
        check(o.returncode == 1 and o.stderr.startswith(
            'query error: Post "http://127.0.0.1:1/api/v1/query": '), f"no server ({o.stderr})")
        o = run([tool, "query", "instant", "--header", "X-Test=1", url, "vector(1)"])
        check(o.returncode == 0 and re.match(r"\{\} => 1 @\[\d+(\.\d+)?\]\n$", o.stdout),
              f"--header is accepted ({o.stdout!r})")


def body():
    src, build = sys.argv[1], sys.argv[2]
    tool = os.path.join(build, "bin", "prom-tool")
    with Run("tool-rules") as r:
        test_rules(tool, r.tmp)
        check_rules(tool, src, r.tmp)
        query(tool, build, r.tmp)


if __name__ == "__main__":
    main(body)
