#!/usr/bin/env python3
"""prom-node-exporter against upstream's own fixtures (../shared/node-exporter-fixtures,
read unchanged): the exporter is started on a copy of the fake host with the
flags of the reference run, and its output is compared with e2e-output.txt
family by family: type, HELP, label sets and values.

It prints each family's verdict and `families matched: N of M`, overall and for
the collectors upstream enables by default.  It fails when a family we print
differs from upstream's (a wrong family is worse than a missing one); a family
we do not print yet counts as not matched.

Usage: node_exporter.py <source dir> <build dir> [fixtures dir]
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import restore_links  # noqa: E402

SRC, BUILD = sys.argv[1], sys.argv[2]
FIXTURES = sys.argv[3] if len(sys.argv) > 3 else os.path.join(SRC, "..", "shared",
                                                             "node-exporter-fixtures")
EXPORTER = os.path.join(BUILD, "bin", "prom-node-exporter")

# Lines that depend on the machine or the clock (the fixtures' README).
IGNORED = re.compile(r"^(go_|node_exporter_build_info|node_scrape_collector_duration_seconds|"
                     r"process_|node_textfile_mtime_seconds|node_time_(zone|seconds)|"
                     r"node_network_(receive|transmit)_(bytes|packets)_total)")

# The collectors the reference run enabled (the fixtures' README).
REFERENCE_ENABLED = """arp bcache bcachefs bonding btrfs buddyinfo cgroups conntrack cpu cpufreq
cpu_vulnerabilities diskstats dmi drbd edac entropy fibrechannel filefd hwmon infiniband
interrupts ipvs kernel_hung ksmd lnstat loadavg mdadm meminfo meminfo_numa mountstats netdev
netstat nfs nfsd pcidevice pressure processes qdisc rapl schedstat slabinfo sockstat softirqs stat
sysctl textfile thermal_zone udp_queues vmstat watchdog wifi xfrm xfs zfs zoneinfo""".split()
# e2e-output.txt also holds families of these, which the README's list leaves out.
REFERENCE_ENABLED += "netclass nvme powersupplyclass tapestats dmmultipath os softnet time".split()

# Collectors upstream enables by default on Linux (issue 4's list).
DEFAULT_ON = """arp bcache bonding btrfs conntrack cpu cpufreq diskstats dmi edac entropy
fibrechannel filefd filesystem hwmon infiniband ipvs loadavg mdadm meminfo netclass netdev netstat
nfs nfsd nvme os powersupplyclass pressure rapl schedstat selinux sockstat softnet stat tapestats
textfile thermal_zone time timex udp_queues uname vmstat watchdog xfs zfs""".split()

# Which collector prints a family, by name prefix (longest prefix wins).
PREFIXES = {
    "arp": ["node_arp_"], "bcache": ["node_bcache_"], "bcachefs": ["node_bcachefs_"],
    "bonding": ["node_bonding_"], "btrfs": ["node_btrfs_"], "buddyinfo": ["node_buddyinfo_"],
    "cgroups": ["node_cgroups_"], "conntrack": ["node_nf_conntrack_"],
    "cpu": ["node_cpu_seconds", "node_cpu_guest", "node_cpu_info", "node_cpu_flag_info",
            "node_cpu_bug_info", "node_cpu_core_throttles", "node_cpu_package_throttles",
            "node_cpu_isolated", "node_cpu_online"],
    "cpufreq": ["node_cpu_frequency", "node_cpu_scaling"],
    "cpu_vulnerabilities": ["node_cpu_vulnerabilities"],
    "diskstats": ["node_disk_"], "dmi": ["node_dmi_"], "dmmultipath": ["node_dmmultipath_"],
    "drbd": ["node_drbd_"], "edac": ["node_edac_"], "entropy": ["node_entropy_"],
    "fibrechannel": ["node_fibrechannel_"], "filefd": ["node_filefd_"],
    "filesystem": ["node_filesystem_"], "hwmon": ["node_hwmon_"],
    "infiniband": ["node_infiniband_"], "interrupts": ["node_interrupts_"],
    "ipvs": ["node_ipvs_"], "kernel_hung": ["node_kernel_hung"], "ksmd": ["node_ksmd_"],
    "lnstat": ["node_lnstat_"], "loadavg": ["node_load"], "mdadm": ["node_md_"],
    "meminfo": ["node_memory_"], "meminfo_numa": ["node_memory_numa_"],
    "mountstats": ["node_mountstats_"], "netclass": ["node_network_"],
    "netdev": ["node_network_receive_", "node_network_transmit_"],
    "netstat": ["node_netstat_"], "nfs": ["node_nfs_"], "nfsd": ["node_nfsd_"],
    "nvme": ["node_nvme_"], "os": ["node_os_"], "pcidevice": ["node_pcidevice_"],
    "powersupplyclass": ["node_power_supply_"], "pressure": ["node_pressure_"],
    "processes": ["node_processes_"], "qdisc": ["node_qdisc_"], "rapl": ["node_rapl_"],
    "schedstat": ["node_schedstat_"], "selinux": ["node_selinux_"],
    "slabinfo": ["node_slabinfo_"], "sockstat": ["node_sockstat_"],
    "softirqs": ["node_softirqs_"], "softnet": ["node_softnet_"],
    "stat": ["node_boot_time", "node_context_switches", "node_forks", "node_intr",
             "node_procs_", "node_softirqs_total"],
    "sysctl": ["node_sysctl_"], "tapestats": ["node_tape_"], "textfile": ["node_textfile_",
                                                                            "testmetric"],
    "thermal_zone": ["node_thermal_zone_", "node_cooling_device_"], "time": ["node_time_"],
    "timex": ["node_timex_"], "udp_queues": ["node_udp_queues"], "uname": ["node_uname_"],
    "vmstat": ["node_vmstat_"], "watchdog": ["node_watchdog_"], "wifi": ["node_wifi_"],
    "xfrm": ["node_xfrm_"], "xfs": ["node_xfs_"], "zfs": ["node_zfs_"],
}


def collector_of(family):
    best, best_len = None, 0
    for c, prefixes in PREFIXES.items():
        for p in prefixes:
            if family.startswith(p) and len(p) > best_len:
                best, best_len = c, len(p)
    return best


def unescape(s):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), s)


def parse(text):
    """{family: {"type", "help", "samples": {(name, labels): value}}}"""
    fams, current = {}, None
    label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in text.split("\n"):
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            name, rest = parts[2], parts[3] if len(parts) > 3 else ""
            fam = fams.setdefault(name, {"type": None, "help": None, "samples": {}})
            fam["help" if parts[1] == "HELP" else "type"] = unescape(rest) \
                if parts[1] == "HELP" else rest
            current = name
            continue
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)", line)
        name, labels, value = m.group(1), m.group(3) or "", m.group(4)
        labelset = tuple(sorted((k, unescape(v)) for k, v in label_re.findall(labels)))
        fam_name = current if current and name.startswith(current) else name
        fam = fams.setdefault(fam_name, {"type": "untyped", "help": None, "samples": {}})
        fam["samples"][(name, labelset)] = float(value)
    return fams


def same_value(a, b):
    if a != a and b != b:
        return True
    return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))


def compare(want, got):
    if want["type"] != got["type"]:
        return f"type {got['type']} instead of {want['type']}"
    if want["help"] != got["help"]:
        return f"HELP {got['help']!r} instead of {want['help']!r}"
    if set(want["samples"]) != set(got["samples"]):
        missing = sorted(set(want["samples"]) - set(got["samples"]))[:3]
        extra = sorted(set(got["samples"]) - set(want["samples"]))[:3]
        return f"series differ: missing {missing}, extra {extra}"
    for k, v in want["samples"].items():
        if not same_value(v, got["samples"][k]):
            return f"{k[0]}{dict(k[1])} is {got['samples'][k]} instead of {v}"
    return None


def known_flags():
    out = subprocess.run([EXPORTER, "--help"], capture_output=True, text=True).stdout
    return set(re.findall(r"--(?:\[no-\])?([a-zA-Z0-9_.-]+)", out))


def main():
    # The reference run was made from node_exporter's source tree with the
    # fixtures at collector/fixtures and relative --path.* flags; some label
    # values (rapl's path) carry that path, so the copy sits at the same
    # relative place and the exporter runs from tmp.
    tmp = tempfile.mkdtemp(prefix="node-fixtures-")
    rel = os.path.join("collector", "fixtures")
    host = os.path.join(tmp, rel)
    shutil.copytree(FIXTURES, host, symlinks=True)
    restore_links(host)
    for d in open(os.path.join(FIXTURES, "EMPTY_DIRS.txt")).read().split():
        os.makedirs(os.path.join(host, d), exist_ok=True)
    readme = open(os.path.join(FIXTURES, "README.md")).read()
    # "<this dir>" holds a space: it is replaced before the flags are split.
    ref_flags = re.search(r"```\n(--collector\.cpu\.info\n.*?)```", readme, re.S).group(1)
    ref_flags = ref_flags.replace("<this dir>", rel).split()
    have = known_flags()

    def ours(flag):
        name = flag[2:].split("=", 1)[0]
        return name in have or (name.startswith("no-") and name[3:] in have)

    implemented = [c for c in REFERENCE_ENABLED if f"collector.{c}" in have]
    flags = [f for f in ref_flags if ours(f)]
    skipped = [f for f in ref_flags if not ours(f)]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [os.path.abspath(EXPORTER), f"--web.listen-address=127.0.0.1:{port}",
            f"--path.rootfs={rel}", f"--path.procfs={rel}/proc", f"--path.sysfs={rel}/sys",
            f"--path.udev.data={rel}/udev/data", "--collector.disable-defaults"] + \
        [f"--collector.{c}" for c in implemented] + flags
    log = open(os.path.join(tmp, "exporter.log"), "w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            cwd=tmp)
    body = None
    try:
        for _ in range(100):
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) \
                    .read().decode()
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
    if body is None:
        print(open(log.name).read())
        shutil.rmtree(tmp)
        print("FAIL: the exporter did not answer")
        return 1
    shutil.rmtree(tmp)

    want, got = parse(open(os.path.join(FIXTURES, "e2e-output.txt")).read()), parse(body)
    print("collectors implemented:", " ".join(implemented) or "none")
    if skipped:
        print("reference flags of collectors not implemented yet:", " ".join(skipped))
    matched, wrong, missing = [], [], []
    for name in sorted(want):
        if IGNORED.match(name) or name == "node_scrape_collector_success":
            continue
        if name not in got:
            missing.append(name)
            continue
        why = compare(want[name], got[name])
        (wrong if why else matched).append((name, why))
    # Every collector we ran must report success, as in the reference run.
    succ = got.get("node_scrape_collector_success", {"samples": {}})["samples"]
    failed = [dict(k[1])["collector"] for k, v in succ.items() if v != 1]
    extra = sorted(n for n in got if n not in want and not IGNORED.match(n))
    for name, why in wrong:
        print(f"MISMATCH {name}: {why}")
    for name in extra:
        print(f"EXTRA {name}: printed by us, not by upstream on these fixtures")
    total = len(matched) + len(wrong) + len(missing)
    print(f"families matched: {len(matched)} of {total}")
    dm = [n for n, _ in matched if collector_of(n) in DEFAULT_ON]
    dt = [n for n in [n for n, _ in matched] + [n for n, _ in wrong] + missing
          if collector_of(n) in DEFAULT_ON]
    print(f"families of default-on collectors matched: {len(dm)} of {len(dt)}"
          f" ({100 * len(dm) / max(len(dt), 1):.1f}%)")
    by = {}
    for n in missing:
        by.setdefault(collector_of(n) or "?", []).append(n)
    print("not printed yet, by collector:",
          ", ".join(f"{c} {len(v)}" for c, v in sorted(by.items())))
    if failed:
        print("FAIL: collectors reported failure:", " ".join(failed))
    return 1 if wrong or extra or failed else 0


if __name__ == "__main__":
    sys.exit(main())
