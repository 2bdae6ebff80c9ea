"""harness.py - what the Python integration tests share (the Python side of
tests/harness/harness.h): free loopback ports, HTTP calls, and processes that
are started with their output in a log, waited for until ready, and stopped by
pid however the test ends, their logs printed when it failed.

    from harness import Run, check, free_port, http

    with Run("prom-node") as run:
        port = free_port()
        run.start("exporter", [binary, f"--web.listen-address=127.0.0.1:{port}"],
                  f"http://127.0.0.1:{port}/metrics")
        check(http(f"http://127.0.0.1:{port}/metrics")[0] == 200, "it serves")
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url, data=None, method=None, headers=None, timeout=30):
    """(status, body as text); status 0 when the connection failed."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def find_tool(build, name):
    """A test tool built by the project: <build>/tests/<name> or <build>/bin/<name>."""
    for sub in ("tests", "bin"):
        path = os.path.join(build, sub, name)
        if os.path.exists(path):
            return path
    raise AssertionError(f"{name} not found under {build}")


def restore_links(root):
    """The shared copy of upstream's node-exporter fixtures holds its symlinks as
    small files whose text is the link's target (../../devices/...); a copy
    under test gets them back as links, as upstream's fixture archive has them."""
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            if os.path.islink(p) or os.path.getsize(p) > 300:
                continue
            b = open(p, "rb").read()
            if b.startswith(b"../") and b"\n" not in b and b"\0" not in b:
                os.remove(p)
                os.symlink(b.decode(), p)


def check(cond, what):
    """Fails the test with `what` unless cond; prints "ok: what" otherwise."""
    if not cond:
        raise AssertionError(what)
    print("ok:", what)


def promtool_check(name, text):
    """`promtool check metrics` finds no format error in text.  Exit status 3
    is lint advice (e.g. a counter without _total, as the seed's example has);
    1 is a format error."""
    r = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                       capture_output=True)
    check(r.returncode in (0, 3) and "error while linting" not in r.stderr,
          f"promtool check metrics: no format error in {name}'s output "
          f"({r.stderr.strip()[:300]})")


class Run:
    """A test run: a temporary directory and the processes started in it."""

    def __init__(self, prefix):
        self.tmp = tempfile.mkdtemp(prefix=prefix + "-")
        self.procs = []

    def __enter__(self):
        return self

    def start(self, name, argv, ready_url=None, timeout=30, **popen):
        """Starts argv in its own session with output to <tmp>/<name>.log and
        waits until ready_url answers 200 (not at all when it is None)."""
        log = open(os.path.join(self.tmp, name + ".log"), "w")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                             **popen)
        p.name = name
        self.procs.append(p)
        deadline = time.time() + timeout
        while ready_url is not None:
            if p.poll() is not None:
                raise AssertionError(f"{name} exited with {p.returncode} before it was ready")
            if http(ready_url)[0] == 200:
                break
            if time.time() > deadline:
                raise AssertionError(f"{name} was not ready at {ready_url} after {timeout} s")
            time.sleep(0.1)
        return p

    def stop(self, p):
        """SIGTERM to the process group, SIGKILL after 10 s; reaps it."""
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def __exit__(self, kind, value, tb):
        for p in list(self.procs):
            self.stop(p)
        if kind is not None:
            for name in sorted(os.listdir(self.tmp)):
                if name.endswith(".log"):
                    print(f"---- {name} ----")
                    print(open(os.path.join(self.tmp, name)).read()[-5000:])
        shutil.rmtree(self.tmp, ignore_errors=True)
        return False


def main(body):
    """Runs body() and exits 0, or 1 with the failure printed."""
    try:
        body()
    except AssertionError as e:
        print("FAIL:", e)
        sys.exit(1)
    sys.exit(0)
