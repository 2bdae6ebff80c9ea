"""discovery_common.py - what the discovery integration tests share: running
discovery_tool (server/discovery on a prometheus.yml, one JSON line per
publication) and asking Debian's promtool for its view of a job.

    from discovery_common import Tool, promtool_targets, without_scrape_labels
"""
import json
import os
import signal
import subprocess
import time

from harness import check, find_tool

# Labels promtool's discoveredLabels add from the scrape config; discovery
# itself does not produce them.
SCRAPE_LABELS = {"job", "__scheme__", "__metrics_path__", "__scrape_interval__",
                 "__scrape_timeout__"}


class Tool:
    """discovery_tool running under a harness Run."""

    def __init__(self, run, build, config, update_ms=200, env=None, name="discovery_tool"):
        self.out = os.path.join(run.tmp, name + ".jsonl")
        self.pos = 0
        self.last = None
        argv = [find_tool(build, "discovery_tool"), f"--config.file={config}",
                f"--out={self.out}", f"--update-ms={update_ms}"]
        self.proc = run.start(name, argv, env=env)

    def lines(self):
        """The publications written since the last call."""
        if not os.path.exists(self.out):
            return []
        with open(self.out) as f:
            f.seek(self.pos)
            data = f.read()
        end = data.rfind("\n") + 1
        self.pos += len(data[:end].encode())
        out = [json.loads(line) for line in data[:end].splitlines() if line]
        if out:
            self.last = out[-1]
        return out

    def wait(self, pred, what, timeout=15):
        """The first publication (new or the last one seen) for which pred holds."""
        deadline = time.time() + timeout
        if self.last is not None and pred(self.last):
            return self.last
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"discovery_tool exited with {self.proc.returncode}")
            for line in self.lines():
                if pred(line):
                    return line
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for: {what} (last: {json.dumps(self.last)[:2000]})")

    def reload(self):
        os.kill(self.proc.pid, signal.SIGHUP)


def targets(pub, job):
    """The targets of a set in a publication, as a sorted list of label dicts."""
    s = pub["sets"].get(job)
    if s is None:
        return None
    return sorted(s["targets"], key=lambda t: json.dumps(t, sort_keys=True))


def addresses(pub, job):
    t = targets(pub, job)
    return None if t is None else sorted(x["__address__"] for x in t)


def without_scrape_labels(labels):
    return {k: v for k, v in labels.items() if k not in SCRAPE_LABELS}


def promtool_targets(config, job, env=None, timeout="5s"):
    """promtool check service-discovery's discovered labels for job, without the
    scrape labels, sorted like targets().  promtool 2.42 sometimes panics
    ("send on closed channel") when it stops file discovery; it is retried."""
    last = None
    for _ in range(4):
        r = subprocess.run(["promtool", "check", "service-discovery", f"--timeout={timeout}",
                            config, job], capture_output=True, text=True, env=env, timeout=60)
        last = r
        if r.returncode == 0:
            out = [without_scrape_labels(t["discoveredLabels"]) for t in json.loads(r.stdout or "[]")]
            return sorted(out, key=lambda t: json.dumps(t, sort_keys=True))
    raise AssertionError(f"promtool check service-discovery failed: {last.stderr[-2000:]}")


def same_as_promtool(ours, theirs, what):
    check(ours == theirs, f"{what}: the same targets and labels as promtool check "
                          f"service-discovery\n ours:   {json.dumps(ours)[:1500]}\n theirs: "
                          f"{json.dumps(theirs)[:1500]}")
