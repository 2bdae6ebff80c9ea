#!/usr/bin/env python3
"""discovery_http.py - http_sd_configs of server/discovery, through
discovery_tool, against an HTTP SD endpoint served by this test.

  discovery_http.py <source dir> <build dir>

The endpoint (Python, on a free loopback port) wants basic auth (the password
from a file) and answers a JSON list of target groups it can be told to
change.  Checked:

  - upstream's request: GET with Accept: application/json,
    X-Prometheus-Refresh-Interval-Seconds and a Prometheus/ user agent, the
    credentials from the password file;
  - the targets and labels (__meta_url, group labels) are what Debian's
    promtool check service-discovery finds for the same job;
  - a new list is picked up at the next refresh; a shorter one drops the
    groups past its end;
  - a 500, a wrong Content-Type and a body that is no target group list keep
    the last targets, and are counted as failures;
  - wrong credentials (401) keep them too; a password file fixed on disk is
    read again at the next refresh.
"""
import base64
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Run, check, main  # noqa: E402
from discovery_common import Tool, addresses, promtool_targets, same_as_promtool, targets  # noqa: E402

STATE = {"status": 200, "ctype": "application/json", "body": "[]", "requests": [], "password": "s3cret"}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        with LOCK:
            STATE["requests"].append({k.lower(): v for k, v in self.headers.items()})
            want = "Basic " + base64.b64encode(f"prom:{STATE['password']}".encode()).decode()
            if self.path != "/sd" or self.headers.get("Authorization") != want:
                status, ctype, body = 401, "text/plain", "unauthorized"
            else:
                status, ctype, body = STATE["status"], STATE["ctype"], STATE["body"]
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def serve(status=200, ctype="application/json", groups=None, body=None):
    with LOCK:
        STATE["status"] = status
        STATE["ctype"] = ctype
        STATE["body"] = body if body is not None else json.dumps(groups)


def requests_so_far():
    with LOCK:
        return len(STATE["requests"])


def body(build):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    url = f"http://127.0.0.1:{port}/sd"
    try:
        with Run("discovery-http") as run:
            t = run.tmp
            with open(f"{t}/password", "w") as f:
                f.write("s3cret\n")
            config = f"{t}/prometheus.yml"
            with open(config, "w") as f:
                f.write(f"""\
scrape_configs:
  - job_name: http
    http_sd_configs:
      - url: {url}
        refresh_interval: 1s
        basic_auth:
          username: prom
          password_file: password
""")
            serve(groups=[{"targets": ["10.1.0.1:9100", "10.1.0.2:9100"], "labels": {"dc": "eu", "tier": "web"}},
                          {"targets": ["10.1.0.3:9100"]},
                          {"targets": [], "labels": {"empty": "yes"}}])
            tool = Tool(run, build, config)
            pub = tool.wait(lambda p: len(addresses(p, "http") or []) == 3, "the first targets")
            with LOCK:
                first = STATE["requests"][0]
            check(first.get("accept") == "application/json", "Accept: application/json")
            check(first.get("x-prometheus-refresh-interval-seconds") == "1",
                  "X-Prometheus-Refresh-Interval-Seconds: 1")
            check(first.get("user-agent", "").startswith("Prometheus/"), "a Prometheus/ user agent")
            web = [x for x in targets(pub, "http") if x["__address__"] == "10.1.0.1:9100"][0]
            check(web == {"__address__": "10.1.0.1:9100", "__meta_url": url, "dc": "eu", "tier": "web"},
                  "group labels and __meta_url")
            same_as_promtool(targets(pub, "http"), promtool_targets(config, "http"), "http_sd")

            serve(groups=[{"targets": ["10.1.0.9:9100"], "labels": {"dc": "us"}}])
            pub = tool.wait(lambda p: addresses(p, "http") == ["10.1.0.9:9100"],
                            "the shorter list (groups past its end dropped)")
            same_as_promtool(targets(pub, "http"), promtool_targets(config, "http"), "http_sd after a change")

            bad = [(500, "application/json", "[]", "HTTP 500"),
                   (200, "text/plain", "[]", "a text/plain answer"),
                   (200, "application/json", '{"targets": []}', "an object instead of a list"),
                   (200, "application/json", '[{"targets": ["x"], "extra": 1}]', "an unknown field")]
            for status, ctype, text, what in bad:
                before = pub["stats"]["http_failures"]
                n = requests_so_far()
                serve(status, ctype, body=text)
                pub = tool.wait(lambda p: p["stats"]["http_failures"] > before, f"{what} counted as a failure")
                check(addresses(pub, "http") == ["10.1.0.9:9100"], f"{what} keeps the last targets")
                check(requests_so_far() > n, "the endpoint was asked again")

            # Wrong password on the server side, then the file fixed on disk.
            with LOCK:
                STATE["password"] = "rotated"
            serve(groups=[{"targets": ["10.1.0.10:9100"]}])
            before = pub["stats"]["http_failures"]
            pub = tool.wait(lambda p: p["stats"]["http_failures"] > before, "401 counted as a failure")
            check(addresses(pub, "http") == ["10.1.0.9:9100"], "a 401 keeps the last targets")
            with open(f"{t}/password", "w") as f:
                f.write("rotated")
            pub = tool.wait(lambda p: addresses(p, "http") == ["10.1.0.10:9100"],
                            "the password file is read again at each refresh")
    finally:
        server.shutdown()


if __name__ == "__main__":
    main(lambda: body(sys.argv[2]))
