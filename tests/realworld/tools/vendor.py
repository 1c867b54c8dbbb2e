#!/usr/bin/env python3
"""Vendors the real-world corpus: copies each case's Ansible content from a bare git mirror
(made by the search tool's `fetch`, under /work/.mirror/OWNER+NAME/repo) into
tests/realworld/CASE/, with its LICENSE, a SOURCE note, a tiny play.yml and an inventory.

Usage: tools/vendor.py [CASE...]   (every case of cases.tsv when none is given)

cases.tsv columns: case, owner/name, path in the repo ("." for the root), kind (role|project),
role name or entry playbook, license file in the repo, license name, extra play lines (\\n-escaped;
for a project, lines added to its import_playbook, e.g. the `vars:` its users give with -e),
Galaxy dependencies the case needs installed (space-separated `OWNER/NAME@VERSION=ROLE`; each is
fetched too, and vendored at VERSION when the snapshot has that tag, else at its HEAD).
"""
import configparser, os, re, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.dirname(HERE)
MIRRORS = os.environ.get("MIRRORS", "/work/.mirror")
ROLE_DIRS = ("tasks", "handlers", "defaults", "vars", "templates", "files", "meta", "library", "filter_plugins")
SKIP_PARTS = {"molecule", "tests", "test", ".github", "docs", "ci_test", "manual_tests", "aws", ".ci", "vagrant", "images"}
SKIP_NAMES = {"README.md", "Vagrantfile", "LICENSE.md", "LICENSE", ".gitignore", ".travis.yml", "requirements.yml"}
MAX_BYTES = 100 * 1024


def git(repo, *args):
    return subprocess.run(["git", "--git-dir", repo, *args], check=True, capture_output=True).stdout


def wanted(rel, kind):
    parts = rel.split("/")
    if any(p in SKIP_PARTS or p.startswith(".") for p in parts) or parts[-1] in SKIP_NAMES:
        return False
    return kind == "project" or parts[0] in ROLE_DIRS


def inventory_from(hosts_text):
    """Groups and hosts of an INI inventory, each host on the local connection."""
    groups, current = {}, None
    for line in hosts_text.splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        m = re.match(r"\[([^\]:]+)(:\w+)?\]", line)
        if m:
            current = None if m.group(2) else m.group(1)
            if current:
                groups.setdefault(current, [])
        elif current:
            groups[current].append(line.split()[0])
    out = ["all:", "  children:"]
    for group, hosts in groups.items():
        out += [f"    {group}:", "      hosts:"]
        for host in hosts or [f"{group}1"]:
            out += [f"        {host}:", "          ansible_connection: local"]
    return "\n".join(out) + "\n"


def copy_tree(repo, ref, prefix, base, kind):
    """Copies the wanted files under `prefix` of commit `ref` to `base`; returns the skipped ones."""
    listing = git(repo, "ls-tree", "-r", "-l", ref, "--", prefix or ".").decode()
    skipped = []
    for line in listing.splitlines():
        meta, name = line.split("\t", 1)
        mode, typ, sha, size = meta.split()
        rel = name[len(prefix):]
        if typ != "blob" or not wanted(rel, kind):
            continue
        data, why = b"", None
        if mode == "120000":
            why = "symbolic link"
        elif not size.isdigit():
            why = "absent from the fetched snapshot"
        elif int(size) > MAX_BYTES:
            why = f"{size} bytes"
        else:
            data = git(repo, "cat-file", "blob", sha)
            if b"\0" in data[:8000]:
                data, why = b"", f"{size} bytes, binary"
        if why:
            skipped.append(f"{rel} ({why}; an empty placeholder stands in)")
        out = os.path.join(base, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "wb") as f:
            f.write(data)
    return skipped


def roles_dir(dest, kind):
    """Where Galaxy installs a case's dependencies: the project's ansible.cfg roles_path, or roles/."""
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(os.path.join(dest, "ansible.cfg"))
    path = cfg.get("defaults", "roles_path", fallback="roles") if kind == "project" else "roles"
    return os.path.join(dest, path.split(":")[0])


def vendor_dependency(spec, dest, kind):
    """A Galaxy dependency (`OWNER/NAME@VERSION=ROLE`), as `ansible-galaxy install` would place it:
    its role files and license under the roles folder; returns its SOURCE line."""
    source, role = spec.split("=")
    repo_name, version = source.split("@")
    repo = f"{MIRRORS}/{repo_name.replace('/', '+')}/repo"
    found = subprocess.run(["git", "--git-dir", repo, "rev-parse", "--verify", "-q", version + "^{commit}"],
                           capture_output=True).returncode == 0
    ref = version if found else "HEAD"
    commit = git(repo, "rev-parse", ref + "^{commit}").decode().strip()
    base = os.path.join(roles_dir(dest, kind), role)
    skipped = copy_tree(repo, ref, "", base, "role")
    license_file = next(n for n in git(repo, "ls-tree", "--name-only", ref).decode().splitlines()
                        if n.upper().startswith(("LICENSE", "COPYING")))
    with open(os.path.join(base, license_file), "wb") as f:
        f.write(git(repo, "show", f"{ref}:{license_file}"))
    note = "" if found else f" (version {version} is not in the fetched snapshot: HEAD instead)"
    lines = [f"dependency: {role} from https://github.com/{repo_name} commit {commit}{note}, "
             f"license {os.path.relpath(os.path.join(base, license_file), dest)}"]
    return lines + [f"skipped: {role}/{s}" for s in skipped]


LOCAL = "all:\n  hosts:\n    node1:\n      ansible_connection: local\n"


def vendor(case, repo_name, path, kind, target, license_file, license_name, extra, deps=""):
    repo = f"{MIRRORS}/{repo_name.replace('/', '+')}/repo"
    commit = git(repo, "rev-parse", "HEAD").decode().strip()
    dest = os.path.join(CORPUS, case)
    subprocess.run(["rm", "-rf", dest], check=True)
    prefix = "" if path == "." else path.rstrip("/") + "/"
    base = os.path.join(dest, "roles", target) if kind == "role" else dest
    skipped = copy_tree(repo, "HEAD", prefix, base, kind)
    with open(os.path.join(dest, "LICENSE"), "wb") as f:
        f.write(git(repo, "show", f"HEAD:{license_file}"))
    extra = extra.replace("\\n", "\n") if extra else ""
    if kind == "role":
        play = f"- hosts: all\n  become: true\n{extra}  roles:\n    - role: {target}\n"
        inventory = LOCAL
    else:
        play = f"- import_playbook: {target}\n{extra}"
        hosts = next((h for h in ("hosts", "hosts.ini", "inventory", "provisioning/inventory",
                                  "hosts/production")
                      if os.path.isfile(os.path.join(dest, h))), None)
        inventory = inventory_from(open(os.path.join(dest, hosts)).read()) if hosts else LOCAL
    with open(os.path.join(dest, "play.yml"), "w") as f:
        f.write("---\n" + play)
    with open(os.path.join(dest, "inventory.yml"), "w") as f:
        f.write(inventory)
    with open(os.path.join(dest, "SOURCE"), "w") as f:
        f.write(f"repo: https://github.com/{repo_name}\ncommit: {commit}\npath: {path}\n"
                f"license: {license_name} ({license_file})\n")
        f.write("vendored: " + ("the role's " + ", ".join(ROLE_DIRS) if kind == "role"
                                else "the project's playbooks, roles and variables") +
                f" (skipped: molecule, tests, CI, docs, READMEs)\n")
        for s in skipped:
            f.write(f"skipped: {s}\n")
        for spec in deps.split():
            for line in vendor_dependency(spec, dest, kind):
                f.write(line + "\n")


def main():
    wanted_cases = set(sys.argv[1:])
    with open(os.path.join(HERE, "cases.tsv")) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            cols += [""] * (9 - len(cols))
            if not wanted_cases or cols[0] in wanted_cases:
                vendor(*cols)
                print("vendored", cols[0])


if __name__ == "__main__":
    main()
