#!/usr/bin/env python3
"""tool_check.py - `prom-tool check config` against Debian's `promtool check
config` (2.42) on the example configuration and on broken variants: the same
verdict and exit status, our message naming file:line:col where promtool
names the file and line; both print "Checking <file>" and the SUCCESS lines
the same way.

  tool_check.py <source dir> <build dir>
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Run, check, main  # noqa: E402

BAD = {
    "unknown-key.yml": ("global:\n  scrape_intervall: 1s\n", "2:3"),
    "timeout.yml": ("scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n"
                    "    scrape_timeout: 10s\n", "4:21"),
    "dup-job.yml": ("scrape_configs:\n  - job_name: a\n  - job_name: a\n", "3:15"),
    "bad-relabel.yml": ("scrape_configs:\n  - job_name: a\n    relabel_configs:\n"
                        "      - action: hashmod\n        target_label: x\n", "4:9"),
    "missing-cert.yml": ("scrape_configs:\n  - job_name: a\n    tls_config:\n"
                         "      cert_file: /nonexistent/cert.pem\n"
                         "      key_file: /nonexistent/key.pem\n", None),
}


def run(argv):
    return subprocess.run(argv, capture_output=True, text=True)


def body():
    src, build = sys.argv[1], sys.argv[2]
    tool = os.path.join(build, "bin", "prom-tool")
    example = os.path.join(src, "examples", "prometheus.yml")
    with Run("tool-check") as r:
        ours, theirs = run([tool, "check", "config", example]), run(["promtool", "check", "config",
                                                                      example])
        check(ours.returncode == 0 == theirs.returncode,
              f"the example config passes both ({ours.stderr.strip()[:200]})")
        first = [ln for ln in theirs.stdout.splitlines()[:3]]
        check(ours.stdout.splitlines()[:3] == first,
              f"the same first lines as promtool: {first}")
        for name, (text, pos) in BAD.items():
            path = os.path.join(r.tmp, name)
            with open(path, "w") as f:
                f.write(text)
            o, t = run([tool, "check", "config", path]), run(["promtool", "check", "config", path])
            check(o.returncode == t.returncode == 1,
                  f"{name}: both refuse it (ours {o.returncode}, promtool {t.returncode})")
            check("FAILED:" in o.stderr and (pos is None or f"{name}:{pos}:" in o.stderr),
                  f"{name}: ours says where: {o.stderr.strip()}")
        o = run([tool, "check", "config", "--syntax-only", os.path.join(r.tmp, "missing-cert.yml")])
        check(o.returncode == 0, "--syntax-only does not look for the files a config names")


if __name__ == "__main__":
    main(body)
