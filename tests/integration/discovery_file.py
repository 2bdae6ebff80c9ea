#!/usr/bin/env python3
"""discovery_file.py - file_sd_configs and static_configs of server/discovery,
through discovery_tool, against files this test rewrites.

  discovery_file.py <source dir> <build dir>

A prometheus.yml with a file_sd job (a JSON and a YAML glob, the JSON one
relative to the config's directory), a static job, and an alertmanager with
file discovery (set "config-0"):

  - the first publication holds every set; the file job's targets and labels
    are what Debian's promtool check service-discovery finds for it;
  - a JSON file rewritten in place of the old one (rename) is seen within a
    couple of seconds (inotify; the refresh interval is an hour);
  - a YAML file made invalid keeps its last targets (and is counted), a valid
    one again replaces them;
  - a new file matching the glob adds its targets, a deleted file's go;
  - SIGHUP with a second job using the same file config: one provider serves
    both (no re-read), and the unchanged job keeps its `changed` generation;
    a config that no longer loads leaves everything running.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Run, check, main  # noqa: E402
from discovery_common import Tool, addresses, promtool_targets, same_as_promtool, targets  # noqa: E402

CONFIG = """\
global:
  scrape_interval: 15s
alerting:
  alertmanagers:
    - file_sd_configs:
        - files: ['am/*.yml']
scrape_configs:
  - job_name: files
    file_sd_configs:
      - files: ['sd/*.json', '{tmp}/sd/*.yml']
        refresh_interval: 1h
  - job_name: static
    static_configs:
      - targets: ['localhost:9090', 'localhost:9100']
        labels:
          team: core
{extra}"""

EXTRA = """\
  - job_name: files2
    file_sd_configs:
      - files: ['sd/*.json', '{tmp}/sd/*.yml']
        refresh_interval: 1h
"""


def put(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def body(build):
    with Run("discovery-file") as run:
        t = run.tmp
        os.makedirs(f"{t}/sd")
        os.makedirs(f"{t}/am")
        put(f"{t}/sd/a.json", '[{"targets": ["10.0.0.1:9100", "10.0.0.2:9100"], '
                              '"labels": {"env": "prod", "rack": "r1"}}, '
                              '{"targets": ["10.0.0.3:9100"]}]')
        put(f"{t}/sd/b.yml", "- targets: ['db1:9187']\n  labels:\n    role: db\n    port: 5432\n")
        put(f"{t}/am/am.yml", "- targets: ['am1:9093']\n")
        config = f"{t}/prometheus.yml"
        with open(config, "w") as f:
            f.write(CONFIG.format(tmp=t, extra=""))
        tool = Tool(run, build, config)
        pub = tool.wait(lambda p: addresses(p, "files") is not None and len(addresses(p, "files")) == 4
                        and addresses(p, "config-0") == ["am1:9093"], "every set discovered")
        check(addresses(pub, "static") == ["localhost:9090", "localhost:9100"], "static targets")
        check(all(x["team"] == "core" for x in targets(pub, "static")), "static labels")
        ours = targets(pub, "files")
        by_addr = {x["__address__"]: x for x in ours}
        check(by_addr["10.0.0.1:9100"] == {"__address__": "10.0.0.1:9100", "env": "prod", "rack": "r1",
                                           "__meta_filepath": f"{t}/sd/a.json"},
              "a JSON target with its group labels and __meta_filepath (the relative glob joined "
              "with the config's directory)")
        check(by_addr["db1:9187"]["port"] == "5432" and by_addr["db1:9187"]["role"] == "db",
              "YAML label values of any scalar type, as text")
        same_as_promtool(ours, promtool_targets(config, "files"), "file_sd")

        # Rewritten: seen through inotify although the refresh interval is an hour.
        t0 = time.time()
        put(f"{t}/sd/a.json", '[{"targets": ["10.0.0.9:9100"], "labels": {"env": "staging"}}]')
        pub = tool.wait(lambda p: "10.0.0.9:9100" in addresses(p, "files"), "the rewritten file")
        check(time.time() - t0 < 5, f"the change was published after {time.time() - t0:.1f} s")
        check(addresses(pub, "files") == ["10.0.0.9:9100", "db1:9187"],
              "the file's old targets (its group 1 too) are gone")

        # Broken YAML: the last targets stay; fixed: replaced.
        put(f"{t}/sd/b.yml", "- targets: ['db1:9187'\n")
        pub = tool.wait(lambda p: p["stats"]["file_read_errors"] > 0 and p["generation"] > pub["generation"],
                        "the read error counted")
        check("db1:9187" in addresses(pub, "files"), "a broken file keeps its last targets")
        put(f"{t}/sd/b.yml", "- targets: ['db2:9187']\n")
        pub = tool.wait(lambda p: addresses(p, "files") == ["10.0.0.9:9100", "db2:9187"],
                        "the fixed file's targets")

        put(f"{t}/sd/c.json", '[{"targets": ["new:1"]}]')
        pub = tool.wait(lambda p: "new:1" in addresses(p, "files"), "a new file's targets")
        os.remove(f"{t}/sd/a.json")
        pub = tool.wait(lambda p: addresses(p, "files") == ["db2:9187", "new:1"],
                        "a deleted file's targets gone")
        same_as_promtool(targets(pub, "files"), promtool_targets(config, "files"), "file_sd after changes")

        # Reload: a second job with the same file config shares the provider.
        providers = pub["stats"]["providers"]
        received = pub["stats"]["received_updates"]
        changed = pub["sets"]["files"]["changed"]
        with open(config, "w") as f:
            f.write(CONFIG.format(tmp=t, extra=EXTRA.format(tmp=t)))
        tool.reload()
        pub = tool.wait(lambda p: addresses(p, "files2") == ["db2:9187", "new:1"], "the new job's targets")
        check(pub["stats"]["providers"] == providers, "one provider serves both jobs")
        check(pub["stats"]["received_updates"] == received, "the running provider was kept (no re-read)")
        check(pub["sets"]["files"]["changed"] == changed, "the unchanged job keeps its changed generation")

        with open(config, "w") as f:
            f.write("scrape_configs:\n  - job_name: [oops\n")
        tool.reload()
        time.sleep(0.5)
        put(f"{t}/sd/c.json", '[{"targets": ["newer:1"]}]')
        pub = tool.wait(lambda p: "newer:1" in addresses(p, "files2"),
                        "after a bad reload everything still runs")
        check(tool.proc.poll() is None, "discovery_tool still runs")


if __name__ == "__main__":
    main(lambda: body(sys.argv[2]))
