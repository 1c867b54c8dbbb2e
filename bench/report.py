#!/usr/bin/env python3
"""Tables of scripts/bench results (tab-separated: scenario, tool, seconds, peak RSS in KiB).

  report.py hosts RESULTS HOSTS BIG_MB   one fleet size: medians, ratio, deployer's peak RSS
  report.py scale RESULTS...             several sizes (results-N-hosts.tsv): growth with N
"""
import re
import statistics
import sys
from collections import defaultdict

NAMES = {
    "a": "20 trivial tasks",
    "b": "sample deploy, first run",
    "c": "sample deploy, no change",
    "d": "big file copy",
}


def load(path):
    """Run times by (scenario, tool) and deployer's peak RSS (KiB) by scenario."""
    times, rss = defaultdict(list), defaultdict(list)
    for line in open(path):
        if not line.strip():
            continue
        scenario, tool, seconds, kib = line.split("\t")
        times[(scenario, tool)].append(float(seconds))
        if tool == "deployer":
            rss[scenario].append(int(kib))
    return times, rss


def median(values):
    return statistics.median(values) if values else None


def seconds(value):
    return f"{value:.2f} s" if value is not None else "-"


def ratio(ansible, deployer):
    return f"{ansible / deployer:.1f}x" if ansible is not None and deployer else "-"


def hosts_table(path, hosts, big_mb):
    times, rss = load(path)
    print(f"| scenario ({hosts} hosts) | ansible-playbook | deployer | ratio | deployer peak RSS |")
    print("|---|---|---|---|---|")
    for s in "abcd":
        d, a = median(times.get((s, "deployer"))), median(times.get((s, "ansible")))
        if d is None:
            continue
        name = f"{big_mb} MB copy" if s == "d" else NAMES[s]
        print(f"| {s}) {name} | {seconds(a)} | {d:.2f} s | {ratio(a, d)} | {max(rss[s]) / 1024:.0f} MB |")
    scp = median(times.get(("d", "scp-one-host")))
    if scp is not None:
        print(f"\nscp of the same file to one host through the bastion: {scp:.2f} s "
              f"(x {hosts} hosts = {scp * hosts:.2f} s)")


def scale_table(paths):
    sizes = []
    for path in paths:
        found = re.search(r"results-(\d+)-hosts\.tsv$", path)
        if not found:
            sys.exit(f"report.py: {path} is not a results-N-hosts.tsv file")
        sizes.append((int(found.group(1)), *load(path)))
    sizes.sort(key=lambda size: size[0])
    print("| scenario | hosts | runs | ansible-playbook | deployer | per host | growth | ratio | deployer peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s in "abcd":
        previous = None
        for hosts, times, rss in sizes:
            runs = times.get((s, "deployer"))
            if not runs:
                continue
            d, a = median(runs), median(times.get((s, "ansible")))
            growth = f"{d / previous[1]:.1f}x for {hosts / previous[0]:.0f}x hosts" if previous else "-"
            print(f"| {s}) {NAMES[s]} | {hosts} | {len(runs)} | {seconds(a)} | {d:.2f} s | "
                  f"{d / hosts:.2f} s | {growth} | {ratio(a, d)} | {max(rss[s]) / 1024:.0f} MB |")
            previous = (hosts, d)


def main(args):
    if len(args) == 4 and args[0] == "hosts":
        hosts_table(args[1], int(args[2]), args[3])
    elif len(args) >= 2 and args[0] == "scale":
        scale_table(args[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
