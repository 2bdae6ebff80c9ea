#!/usr/bin/env python3
"""libprom against the real upstream programs (Debian's promtool, prometheus
2.42 and pushgateway 1.5), each started here on a free loopback port and
stopped by pid.

1. `promtool check metrics` finds no format error in any example's output.
2. prometheus scrapes example-custom-exporter, once as it is (it negotiates
   OpenMetrics: counters arrive with the _total suffix) and once with
   --enable-feature=native-histograms (it asks for protobuf: the names arrive
   as registered); its API returns the values the example exposed.
3. example-batch-job pushes into the pushgateway, whose /metrics shows the
   group with the grouping labels; a push the gateway refuses makes the job
   exit 1 with the gateway's message.

Usage: client_interop.py <source dir> <build dir>
"""
import json
import os
import subprocess
import sys
import time
import urllib.parse

from harness import Run, check, free_port, http, main, promtool_check

BIN = os.path.join(sys.argv[2], "bin")


def parse_text(text):
    """{series: value} from text exposition, without HELP/TYPE/comments."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            out[series] = float(value)
    return out


def series_key(metric):
    labels = {k: v for k, v in metric.items() if k not in ("__name__", "job", "instance")}
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return metric["__name__"] + ("{" + inner + "}" if inner else "")


def scrape_with_prometheus(run, exporter_port, features, name_suffix):
    port = free_port()
    data = os.path.join(run.tmp, "prom-data" + name_suffix)
    cfg = os.path.join(run.tmp, "prometheus" + name_suffix + ".yml")
    with open(cfg, "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
scrape_configs:
  - job_name: example
    static_configs:
      - targets: ['127.0.0.1:{exporter_port}']
""")
    argv = ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{port}"] + features
    p = run.start("prometheus" + name_suffix, argv, f"http://127.0.0.1:{port}/-/ready")
    api = f"http://127.0.0.1:{port}/api/v1/query?query="
    deadline = time.time() + 30
    result = []
    while time.time() < deadline:
        code, body = http(api + urllib.parse.quote('{job="example",__name__=~"app_.*"}'))
        if code == 200:
            result = json.loads(body)["data"]["result"]
            if result:
                break
        time.sleep(0.5)
    up = json.loads(http(api + "up")[1])["data"]["result"]
    run.stop(p)
    check(up and up[0]["value"][1] == "1", f"prometheus{name_suffix} scraped the exporter (up=1)")
    return {series_key(r["metric"]): float(r["value"][1]) for r in result}


def test(run):
    # 1. promtool on every example's output
    exp_port = free_port()
    # One simulated request at start, then none for an hour: the values hold still.
    exporter = run.start("example-custom-exporter",
                     [os.path.join(BIN, "example-custom-exporter"), "--port", str(exp_port),
                      "--interval-ms", "3600000"],
                     f"http://127.0.0.1:{exp_port}/metrics")
    code, exposed_text = http(f"http://127.0.0.1:{exp_port}/metrics")
    check(code == 200 and "app_request_count{" in exposed_text, "example-custom-exporter serves")
    promtool_check("example-custom-exporter", exposed_text)
    rs_port = free_port()
    rs = run.start("example-render-server",
               [os.path.join(BIN, "example-render-server"), "--port", str(rs_port)],
               f"http://127.0.0.1:{rs_port}/metrics")
    promtool_check("example-render-server", http(f"http://127.0.0.1:{rs_port}/metrics")[1])
    run.stop(rs)
    dry = subprocess.run([os.path.join(BIN, "example-batch-job"), "--dry-run"],
                         capture_output=True, text=True)
    check(dry.returncode == 0, "example-batch-job --dry-run")
    promtool_check("example-batch-job", dry.stdout)

    # 2. prometheus scrapes the exporter, by OpenMetrics and by protobuf
    exposed = {k: v for k, v in parse_text(exposed_text).items() if k.startswith("app_")}
    om = scrape_with_prometheus(run, exp_port, [], "-om")
    want_om = {}
    for k, v in exposed.items():  # an OpenMetrics counter sample carries _total
        name = k.split("{")[0]
        want_om[k.replace("app_request_count", "app_request_count_total", 1)
                if name == "app_request_count" else k] = v
    got_om = {k: v for k, v in om.items() if not k.startswith("app_request_count_created")}
    check(got_om == want_om, f"OpenMetrics scrape: prometheus has {got_om}, exposed {want_om}")
    pb = scrape_with_prometheus(run, exp_port, ["--enable-feature=native-histograms"], "-pb")
    check(pb == exposed, f"protobuf scrape: prometheus has {pb}, exposed {exposed}")
    run.stop(exporter)

    # 3. the batch job and a real pushgateway
    gw_port = free_port()
    gw_url = f"http://127.0.0.1:{gw_port}"
    # Debian's gateway persists to /var/lib/prometheus by default: not here.
    gw = run.start("pushgateway", ["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{gw_port}",
                               "--persistence.file="], gw_url + "/-/ready")
    # A group declares the job's duration as a counter: the gateway must
    # refuse the job's gauge of the same name, and the job must say so.
    body = b"# TYPE example_batch_job_duration_seconds counter\nexample_batch_job_duration_seconds 1\n"
    code, _ = http(gw_url + "/metrics/job/other", data=body, method="PUT")
    check(code in (200, 202), f"conflicting group pushed by hand ({code})")
    job = subprocess.run([os.path.join(BIN, "example-batch-job"), "--gateway", gw_url,
                          "--job", "nightly"], capture_output=True, text=True)
    check(job.returncode == 1 and "400" in job.stderr and "push refused" in job.stderr,
          f"a refused push exits 1 with the gateway's message: {job.stderr.strip()}")
    code, _ = http(gw_url + "/metrics/job/other", method="DELETE")
    check(code == 202, "conflicting group deleted")
    deadline = time.time() + 10  # the gateway applies a DELETE after answering
    while "job=\"other\"" in http(gw_url + "/metrics")[1] and time.time() < deadline:
        time.sleep(0.1)

    job = subprocess.run([os.path.join(BIN, "example-batch-job"), "--gateway", gw_url,
                          "--job", "nightly", "--instance", "db/1"],
                         capture_output=True, text=True)
    check(job.returncode == 0, f"example-batch-job pushed ({job.stdout.strip()} {job.stderr.strip()})")
    metrics = parse_text(http(gw_url + "/metrics")[1])
    key = 'example_batch_job_records_processed{instance="db/1",job="nightly"}'
    check(metrics.get(key) == 17984, f"the gateway shows the group: {key} = {metrics.get(key)}")
    check(any(k.startswith('push_time_seconds{instance="db/1",job="nightly"}') for k in metrics),
          "the gateway recorded the push time of the group")
    run.stop(gw)


if __name__ == "__main__":
    def body():
        with Run("prom-interop") as run:
            test(run)
    main(body)
