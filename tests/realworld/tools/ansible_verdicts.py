#!/usr/bin/env python3
"""Fills the ansible-core column of tests/realworld/expected.tsv: runs
`ansible-playbook --syntax-check` on every case (or the cases named) and writes `accepted` or
`rejected`. Each output is kept in LOGS/CASE.syntax (ending with `rc=N`) and reused when present,
so delete it to check a case again.

Usage: tools/ansible_verdicts.py [CASE...]
Environment: ANSIBLE_PLAYBOOK (default /work/.venv-ansible-full/bin/ansible-playbook, the
`ansible` package with its collections), LOGS (default /tmp/realworld-ansible).
"""
import os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.dirname(HERE)
ANSIBLE = os.environ.get("ANSIBLE_PLAYBOOK", "/work/.venv-ansible-full/bin/ansible-playbook")
LOGS = os.environ.get("LOGS", "/tmp/realworld-ansible")


def syntax(case):
    log = os.path.join(LOGS, f"{case}.syntax")
    if not os.path.exists(log):
        env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
                   ANSIBLE_LOCAL_TEMP=os.path.join(LOGS, "tmp"))
        run = subprocess.run([ANSIBLE, "-i", "inventory.yml", "play.yml", "--syntax-check"],
                             cwd=os.path.join(CORPUS, case), env=env, capture_output=True, text=True)
        with open(log, "w") as f:
            f.write(run.stdout + run.stderr + f"rc={run.returncode}\n")
    return "accepted" if open(log).read().rstrip().endswith("rc=0") else "rejected"


def main():
    os.makedirs(LOGS, exist_ok=True)
    path = os.path.join(CORPUS, "expected.tsv")
    lines = open(path).read().splitlines()
    only = set(sys.argv[1:])
    out = []
    for line in lines:
        cols = line.split("\t")
        if not line.startswith("#") and len(cols) == 5 and (not only or cols[0] in only):
            cols[1] = syntax(cols[0])
        out.append("\t".join(cols))
    open(path, "w").write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
