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
    read again at the next refresh;
  - over HTTPS with a client certificate (a CA, server and client certificate
    made here with the openssl command): tls_config's ca_file, cert_file and
    key_file work (and agree with promtool), a server the CA does not vouch
    for fails, insecure_skip_verify lets it through, and no client
    certificate is refused by the server.
"""
import base64
import json
import os
import shutil
import ssl
import subprocess
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


def make_certs(d):
    """A CA, a server certificate for 127.0.0.1 and a client certificate."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
        "-keyout", "ca.key", "-out", "ca.crt")
    with open(f"{d}/san.cnf", "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    for name, cn in (("server", "127.0.0.1"), ("client", "prom")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}", "-keyout", f"{name}.key",
            "-out", f"{name}.csr")
        extra = ["-extfile", "san.cnf"] if name == "server" else []
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-out", f"{name}.crt", *extra)
    # Another CA that vouches for nothing here.
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=other-ca",
        "-keyout", "other.key", "-out", "other.crt")


def tls_part(run, build):
    if shutil.which("openssl") is None:
        print("skipped: the TLS part needs the openssl command")
        return
    t = run.tmp
    make_certs(t)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(f"{t}/server.crt", f"{t}/server.key")
    ctx.load_verify_locations(f"{t}/ca.crt")
    ctx.verify_mode = ssl.CERT_REQUIRED
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}/sd"
    try:
        serve(groups=[{"targets": ["10.3.0.1:9100"], "labels": {"via": "tls"}}])
        with LOCK:
            STATE["password"] = "s3cret"
        auth = "        basic_auth: {username: prom, password: s3cret}\n"
        client = f"          cert_file: {t}/client.crt\n          key_file: {t}/client.key\n"
        config = f"{t}/tls.yml"
        with open(config, "w") as f:
            f.write(f"""\
scrape_configs:
  - job_name: https
    http_sd_configs:
      - url: {url}
        refresh_interval: 1s
{auth}        tls_config:
          ca_file: {t}/ca.crt
{client}  - job_name: other_ca
    http_sd_configs:
      - url: {url}
        refresh_interval: 1s
{auth}        tls_config:
          ca_file: {t}/other.crt
{client}  - job_name: insecure
    http_sd_configs:
      - url: {url}
        refresh_interval: 1s
{auth}        tls_config:
          insecure_skip_verify: true
{client}  - job_name: no_client_cert
    http_sd_configs:
      - url: {url}
        refresh_interval: 1s
{auth}        tls_config:
          ca_file: {t}/ca.crt
""")
        tool = Tool(run, build, config, name="discovery_tool_tls")
        pub = tool.wait(lambda p: addresses(p, "https") == ["10.3.0.1:9100"]
                        and addresses(p, "insecure") == ["10.3.0.1:9100"]
                        and p["stats"]["http_failures"] >= 4, "the TLS jobs")
        check(True, "ca_file, cert_file and key_file: the targets over HTTPS with a client certificate")
        check(True, "insecure_skip_verify: the targets although no CA was given")
        check(addresses(pub, "other_ca") == [], "a server the configured CA does not vouch for fails")
        check(addresses(pub, "no_client_cert") == [], "without a client certificate the server refuses")
        same_as_promtool(targets(pub, "https"), promtool_targets(config, "https"), "http_sd over TLS")
    finally:
        server.shutdown()


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
            run.stop(tool.proc)
            tls_part(run, build)
    finally:
        server.shutdown()


if __name__ == "__main__":
    main(lambda: body(sys.argv[2]))
