#!/usr/bin/env python3
"""Tables of scripts/bench results (tab-separated: scenario, fleet, tool, seconds, deployer's
peak RSS in KiB, 1-minute load average when the run started).

  report.py hosts RESULTS HOSTS BIG_MB   one fleet size: medians, ratios to deployer, targets
  report.py scale RESULTS...             several sizes (results-N-hosts.tsv): growth with N
"""
import re
import statistics
import sys
from collections import defaultdict

SCENARIOS = {
    "a": "20 trivial tasks",
    "b": "sample deploy, first run",
    "c": "sample deploy, no change",
    "d": "big file copy",
    "e": "20 tasks with Ansible's module code",
}
TOOLS = {
    "deployer": "deployer",
    "deployer-spc": "deployer --session-per-command",
    "ansible": "ansible-playbook",
    "mitogen": "ansible-playbook + Mitogen",
    "pyinfra": "pyinfra",
    "ssh": "20x `ssh host true`, multiplexed",
    "scp-one-host": "scp to one host",
}
FLEETS = {"lean": "lean login", "heavy": "costly login"}

# Issue 14's targets: (scenario, tool, at least this many times deployer's time).
TARGETS = [("a", "ansible", 40), ("a", "mitogen", 10), ("a", "pyinfra", 3), ("a", "ssh", 1),
           ("b", "ansible", 15), ("e", "ansible", 1)]
COSTLY_OVER_LEAN = 1.3  # deployer's time on the costly-login fleet over the lean one, at most
PEAK_MB = 50


class Results:
    """Run times by (scenario, fleet, tool), deployer's peak RSS (KiB) by (scenario, fleet, tool)
    and the load averages seen at the runs' start."""

    def __init__(self, path):
        self.times, self.rss, self.loads = defaultdict(list), defaultdict(list), []
        for line in open(path):
            if not line.strip():
                continue
            scenario, fleet, tool, seconds, kib, load = line.rstrip("\n").split("\t")
            self.times[(scenario, fleet, tool)].append(float(seconds))
            if tool.startswith("deployer"):
                self.rss[(scenario, fleet, tool)].append(int(kib))
            self.loads.append(float(load))

    def median(self, scenario, fleet, tool):
        values = self.times.get((scenario, fleet, tool))
        return statistics.median(values) if values else None

    def fleets(self):
        present = {fleet for (_, fleet, _) in self.times}
        return [fleet for fleet in FLEETS if fleet in present]

    def tools(self, scenario):
        present = {tool for (s, _, tool) in self.times if s == scenario}
        return [tool for tool in TOOLS if tool in present]

    def runs(self):
        counts = {len(v) for (s, _, tool), v in self.times.items() if tool == "deployer"}
        return "/".join(str(c) for c in sorted(counts)) or "0"


def seconds(value):
    return f"{value:.2f} s" if value is not None else "-"


def ratio(value, base):
    return f"{value / base:.1f}x" if value is not None and base else "-"


def hosts_table(path, hosts, big_mb):
    r = Results(path)
    fleets = r.fleets()
    print(f"\n{hosts} app hosts, medians of {r.runs()} runs; ratio = the tool's time / deployer's "
          f"on the same fleet; load average at the runs' start {min(r.loads):.1f} to {max(r.loads):.1f}")
    for s, name in SCENARIOS.items():
        tools = r.tools(s)
        if not tools:
            continue
        if s == "d":
            name = f"{big_mb} MB copy"
        header = "".join(f" {FLEETS[f]} | ratio |" for f in fleets)
        print(f"\n| {s}) {name} |{header}" + (" costly / lean |" if len(fleets) == 2 else ""))
        print("|---|" + "---|---|" * len(fleets) + ("---|" if len(fleets) == 2 else ""))
        for tool in tools:
            cells = ""
            for f in fleets:
                t, d = r.median(s, f, tool), r.median(s, f, "deployer")
                cells += f" {seconds(t)} | {ratio(t, d) if tool != 'deployer' else '1.0x'} |"
            if len(fleets) == 2:
                heavy, lean = r.median(s, "heavy", tool), r.median(s, "lean", tool)
                cells += f" {heavy / lean:.2f}x |" if heavy is not None and lean else " - |"
            print(f"| {TOOLS[tool]} |{cells}")
        peaks = [f"{TOOLS[t]}, {FLEETS[f]}: {max(r.rss[(s, f, t)]) / 1024:.0f} MB"
                 for t in ("deployer", "deployer-spc") for f in fleets if r.rss.get((s, f, t))]
        if peaks:
            print(f"\nPeak RSS: {'; '.join(peaks)}")
        scp = [(f, r.median("d", f, "scp-one-host")) for f in fleets]
        if s == "d" and any(v for _, v in scp):
            for f, v in scp:
                if v is not None:
                    print(f"scp of the same file to one host through the bastion ({FLEETS[f]}): "
                          f"{v:.2f} s (x {hosts} hosts = {v * hosts:.2f} s)")
    targets(r, fleets)


def targets(r, fleets):
    """Issue 14's targets, met or missed, for what was measured."""
    lines = []
    for s, tool, times in TARGETS:
        for f in fleets:
            t, d = r.median(s, f, tool), r.median(s, f, "deployer")
            if t is None or d is None:
                continue
            met = t / d > times if times == 1 else t / d >= times
            want = "slower than deployer" if times == 1 else f"at least {times}x deployer's time"
            lines.append(f"{'met   ' if met else 'MISSED'} {s}) {TOOLS[tool]}, {FLEETS[f]}: "
                         f"{t / d:.1f}x (want {want})")
    for s in "ab":
        lean, heavy = r.median(s, "lean", "deployer"), r.median(s, "heavy", "deployer")
        if lean and heavy:
            met = heavy / lean <= COSTLY_OVER_LEAN
            lines.append(f"{'met   ' if met else 'MISSED'} {s}) deployer costly / lean login: "
                         f"{heavy / lean:.2f}x (want at most {COSTLY_OVER_LEAN}x)")
    peak = max((max(v) for (s, _, t), v in r.rss.items() if t == "deployer" and s in "abc"),
               default=None)
    if peak is not None:
        met = peak / 1024 < PEAK_MB
        lines.append(f"{'met   ' if met else 'MISSED'} deployer peak RSS, scenarios a-c: "
                     f"{peak / 1024:.0f} MB (want under {PEAK_MB} MB)")
    if lines:
        print("\nIssue 14's targets:")
        print("\n".join(lines))


def scale_table(paths):
    sizes = []
    for path in paths:
        found = re.search(r"results-(\d+)-hosts\.tsv$", path)
        if not found:
            sys.exit(f"report.py: {path} is not a results-N-hosts.tsv file")
        sizes.append((int(found.group(1)), Results(path)))
    sizes.sort(key=lambda size: size[0])
    print("| scenario | login | hosts | runs | ansible-playbook | deployer | per host | growth | ratio | deployer peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for s in SCENARIOS:
        for f in FLEETS:
            previous = None
            for hosts, r in sizes:
                runs = r.times.get((s, f, "deployer"))
                if not runs:
                    continue
                d, a = r.median(s, f, "deployer"), r.median(s, f, "ansible")
                growth = f"{d / previous[1]:.1f}x for {hosts / previous[0]:.0f}x hosts" if previous else "-"
                print(f"| {s}) {SCENARIOS[s]} | {f} | {hosts} | {len(runs)} | {seconds(a)} | {d:.2f} s | "
                      f"{d / hosts:.2f} s | {growth} | {ratio(a, d)} | "
                      f"{max(r.rss[(s, f, 'deployer')]) / 1024:.0f} MB |")
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
