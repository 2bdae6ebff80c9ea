#!/usr/bin/env python3
"""prom-node-exporter's hwmon collector through libsensors, on the fixture host.

This machine has no hwmon chips, so the test gives libsensors upstream's
fixture tree (../shared/node-exporter-fixtures) as /sys: in a private mount
namespace (unshare -m, as root) the tree is bound over /sys and a sensors.conf
of the test's over /etc/sensors3.conf, and an LD_PRELOAD shim makes
statfs("/sys") report sysfs, which libsensors insists on.  With
--path.sysfs=/sys the collector reads through libsensors, so sensors.conf
applies: a label replaces the chip's, a compute line scales a value, an ignore
line hides a sensor.  Everything else must equal what the sysfs reader prints
for the same tree (the conformance suite checks that one against upstream).

Usage: hwmon_libsensors.py <source dir> <build dir> <fixtures dir> <shim.so>
Exit 77 (skipped) when not root or without mount namespaces.
"""
import os
import shutil
import subprocess
import sys

from harness import Run, check, free_port, http, main, restore_links

SRC, BUILD, FIXTURES, SHIM = sys.argv[1:5]
EXPORTER = os.path.join(BUILD, "bin", "prom-node-exporter")

SENSORS_CONF = """chip "coretemp-*"
    label temp2 "Test Core Zero"
    compute temp3 @*2, @/2
    ignore temp4
"""


def hwmon_series(text):
    out = {}
    for line in text.split("\n"):
        if line.startswith("node_hwmon_"):
            series, value = line.rsplit(" ", 1)
            out[series] = float(value)
    return out


def scrape(run, name, sysfs, wrap):
    port = free_port()
    argv = [os.path.abspath(EXPORTER), f"--web.listen-address=127.0.0.1:{port}",
            "--collector.disable-defaults", "--collector.hwmon", f"--path.sysfs={sysfs}"]
    run.start(name, wrap(argv), f"http://127.0.0.1:{port}/metrics")
    code, text = http(f"http://127.0.0.1:{port}/metrics")
    check(code == 200 and 'node_scrape_collector_success{collector="hwmon"} 1' in text,
          f"{name}: the hwmon collector succeeded")
    return hwmon_series(text)


def test(run):
    host = os.path.join(run.tmp, "host")
    shutil.copytree(FIXTURES, host, symlinks=True)
    restore_links(host)
    conf = os.path.join(run.tmp, "sensors3.conf")
    with open(conf, "w") as f:
        f.write(SENSORS_CONF)

    plain = scrape(run, "sysfs-reader", os.path.join(host, "sys"), lambda a: a)
    check(plain.get('node_hwmon_temp_celsius{chip="platform_coretemp_0",sensor="temp3"}') == 52,
          "the sysfs reader sees the fixture chips")

    def in_namespace(argv):
        inner = (f"mount --bind {host}/sys /sys && mount --bind {conf} /etc/sensors3.conf && "
                 f"LD_PRELOAD={SHIM} exec " + " ".join(argv))
        return ["unshare", "-m", "sh", "-c", inner]

    sensors = scrape(run, "libsensors", "/sys", in_namespace)
    chip = 'chip="platform_coretemp_0"'
    check(sensors.get(f'node_hwmon_sensor_label{{{chip},label="Test Core Zero",sensor="temp2"}}')
          == 1, "sensors.conf's label replaces the chip's label")
    check(sensors.get(f'node_hwmon_temp_celsius{{{chip},sensor="temp3"}}') == 104,
          "sensors.conf's compute line doubles temp3 (52 -> 104)")
    check(not any('sensor="temp4"' in k and chip in k for k in sensors),
          "sensors.conf's ignore line hides temp4")
    # Everything the configuration does not touch is as the sysfs reader has it
    # (the fixtures have two coretemp chips, and "coretemp-*" names both).
    touched = ('sensor="temp2"', 'sensor="temp3"', 'sensor="temp4"')
    same = {k: v for k, v in plain.items()
            if not ('chip="platform_coretemp_' in k and any(t in k for t in touched))}
    differ = {k: (v, sensors.get(k)) for k, v in same.items() if sensors.get(k) != v}
    check(not differ, f"the other {len(same)} hwmon series equal the sysfs reader's "
                      f"(differences: {dict(list(differ.items())[:5])})")


if __name__ == "__main__":
    if os.geteuid() != 0 or subprocess.run(["unshare", "-m", "true"]).returncode != 0:
        print("skipped: needs root and mount namespaces")
        sys.exit(77)

    def body():
        with Run("prom-hwmon") as run:
            test(run)
    main(body)
