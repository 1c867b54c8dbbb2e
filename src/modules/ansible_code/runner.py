"""deployer's runner for an Ansible module, run by the host's Python as `python3 BUNDLE.zip`, or
as `python3 FOLDER/__main__.py` from the folder where an earlier run kept the bundle's files.

The bundle holds this file as __main__.py, the module, the module_utils it can import, and
deployer_request.json: the module's import name, its arguments (internal ones included), and the
name of the folder to keep the files in. Run from a kept folder, the request comes on stdin.
"""
import json
import os
import runpy
import shutil
import sys
import tempfile
import zipfile

REQUEST = "deployer_request.json"


def keep(bundle, name):
    """Keeps the bundle's files (not the request) in ~/.cache/deployer/ansible/NAME, made whole in
    a temporary folder beside it and renamed into place; a failure only means no keeping."""
    home = os.environ.get("HOME")
    if not home or not name:
        return
    root = os.path.join(home, ".cache", "deployer", "ansible")
    if os.path.isdir(os.path.join(root, name)):
        return
    staging = None
    try:
        os.makedirs(root, mode=0o700, exist_ok=True)
        staging = tempfile.mkdtemp(dir=root)
        for member in bundle.namelist():
            if member != REQUEST:
                bundle.extract(member, staging)
        os.rename(staging, os.path.join(root, name))
        staging = None
    except OSError:
        pass
    finally:
        if staging:
            shutil.rmtree(staging, ignore_errors=True)


def main():
    if zipfile.is_zipfile(sys.argv[0]):
        with zipfile.ZipFile(sys.argv[0]) as bundle:
            request = json.loads(bundle.read(REQUEST))
            keep(bundle, request.get("keep"))
    else:
        request = json.loads(sys.stdin.buffer.read())
    from ansible.module_utils import basic

    arguments = {"ANSIBLE_MODULE_ARGS": request["args"]}
    basic._ANSIBLE_ARGS = json.dumps(arguments).encode()
    # ansible-core 2.19 decodes the arguments with a named profile; earlier ones ignore it.
    basic._ANSIBLE_PROFILE = "legacy"
    sys.argv = [request["module"]]
    runpy.run_module(request["module"], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
