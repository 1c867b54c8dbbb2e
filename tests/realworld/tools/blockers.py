#!/usr/bin/env python3
"""Ranks what keeps deployer from accepting the real-world cases that ansible-core accepts: runs
`deployer validate` on each such case, sorts every error into a blocker (a missing module, a
missing module argument, a dialect gap), and prints a Markdown table: the blocker, how many cases
it blocks, and how many it alone blocks (fixing it accepts them, other things equal); then the
Ansible modules the accepted cases name that deployer has not built in (warnings), most used first.

Usage: tools/blockers.py [path to the deployer binary, default target/debug/deployer]
"""
import collections, os, re, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.dirname(HERE)
DEPLOYER = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(CORPUS, "..", "..", "target", "debug", "deployer"))
FQCN = re.compile(r"^(ansible\.builtin|ansible\.legacy)\.")
NOT_BUILT_IN = re.compile(r"^warning: module `([^`]+)`(?: \(([^)]+)\))? is not built into deployer", re.M)


def blocker(message):
    """The blocker an error message of `deployer validate` names."""
    m = re.match(r"unknown module or task keyword `([^`]+)`", message)
    if m:
        return f"module `{FQCN.sub('', m.group(1))}`"
    m = re.match(r"module `([^`]+)` has no argument `([^`]+)`", message)
    if m:
        return f"argument `{m.group(1)}: {m.group(2)}`"
    m = re.match(r"`([^`]+)` must be an? \w+, not a string", message)
    if m:
        return f"templated keyword `{m.group(1)}`"
    if message.startswith("expected `key=value` arguments"):
        return "free-form arguments with spaces in `{{ }}`"
    m = re.match(r"template syntax error: unknown (filter|test) `([^`]+)`", message)
    if m:
        return f"{m.group(1)} `{m.group(2)}`"
    if message.startswith("template syntax error"):
        return "template syntax: " + re.sub(r"`[^`]*`", "`…`", message.split(": ", 1)[1])
    m = re.match(r"a task runs one module: found `([^`]+)` besides", message)
    if m:
        return ("task keywords `async` and `poll`" if m.group(1) in ("async", "poll")
                else f"task keyword `{m.group(1)}`")
    return re.sub(r"'[^']*' is undefined", "'…' is undefined", re.sub(r"`[^`]*`", "`…`", message))


def kind(name):
    """Whether a blocker is a missing module, a missing argument, or a dialect gap."""
    if re.match(r"module `[^`…]+`$", name):
        return "missing module"
    return "missing argument" if name.startswith("argument ") else "dialect"


def main():
    accepted = {}
    for line in open(os.path.join(CORPUS, "expected.tsv")):
        cols = line.rstrip("\n").split("\t")
        if not line.startswith("#") and len(cols) == 5:
            accepted[cols[0]] = cols[1] == "accepted"
    blocks = collections.defaultdict(set)
    lacking = collections.defaultdict(set)
    rejected = 0
    for case in sorted(c for c, ok in accepted.items() if ok):
        run = subprocess.run([DEPLOYER, "validate", "play.yml", "-i", "inventory.yml"],
                             cwd=os.path.join(CORPUS, case), capture_output=True, text=True,
                             env=dict(os.environ, NO_COLOR="1"))
        found = {blocker(l[len("error: "):]) for l in (run.stderr + run.stdout).splitlines()
                 if l.startswith("error: ") and not re.match(r"error: \d+ problems? found", l)}
        if run.returncode != 0:
            rejected += 1
            for b in found or {"(no error line)"}:
                blocks[b].add((case, len(found)))
        for m in NOT_BUILT_IN.finditer(run.stderr):
            lacking[m.group(2) or m.group(1)].add(case)
    total = sum(accepted.values())
    print(f"deployer accepts {total - rejected} of the {total} cases ansible-core accepts.\n")
    kinds = collections.defaultdict(set)
    for name, cases in blocks.items():
        kinds[kind(name)].update(case for case, _ in cases)
    print("| kind of blocker | cases it blocks |\n|---|---:|")
    for name, cases in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
        print(f"| {name} | {len(cases)} |")
    print("\n| rank | blocker | kind | cases blocked | blocked by it alone |")
    print("|---:|---|---|---:|---:|")
    ranked = sorted(blocks.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    for rank, (name, cases) in enumerate(ranked, 1):
        alone = sum(1 for _, n in cases if n == 1)
        print(f"| {rank} | {name} | {kind(name)} | {len(cases)} | {alone} |")
    print(f"\nModules not built into deployer (a warning; the task fails if a host runs it), by the"
          f" accepted cases that name them ({len(lacking)} modules):\n")
    print("| module | cases |\n|---|---:|")
    for name, cases in sorted(lacking.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        print(f"| `{name}` | {len(cases)} |")


if __name__ == "__main__":
    main()
