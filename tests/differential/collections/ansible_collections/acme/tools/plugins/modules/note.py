#!/usr/bin/python
# A collection module found in the playbook's collections/ folder, for deployer's tests.
from ansible.module_utils.basic import AnsibleModule

from ..module_utils.fmt import render


def main():
    module = AnsibleModule(
        argument_spec=dict(path=dict(type="path", required=True), text=dict(type="str")),
        supports_check_mode=False,
    )
    wanted = render(module.params["text"] or "")
    path = module.params["path"]
    try:
        with open(path) as f:
            changed = f.read() != wanted
    except FileNotFoundError:
        changed = True
    if changed:
        with open(path, "w") as f:
            f.write(wanted)
    module.exit_json(changed=changed, note=wanted.strip())


if __name__ == "__main__":
    main()
