"""deployer's runner for an Ansible module, run by the host's Python as `python3 BUNDLE.zip`.

The bundle holds this file as __main__.py, the module, the module_utils it can import, and
deployer_request.json: the module's import name and its arguments (internal ones included).
"""
import json
import runpy
import sys
import zipfile


def main():
    with zipfile.ZipFile(sys.argv[0]) as bundle:
        request = json.loads(bundle.read("deployer_request.json"))
    from ansible.module_utils import basic

    arguments = {"ANSIBLE_MODULE_ARGS": request["args"]}
    basic._ANSIBLE_ARGS = json.dumps(arguments).encode()
    # ansible-core 2.19 decodes the arguments with a named profile; earlier ones ignore it.
    basic._ANSIBLE_PROFILE = "legacy"
    sys.argv = [request["module"]]
    runpy.run_module(request["module"], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
