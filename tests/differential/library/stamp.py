#!/usr/bin/python
# A playbook-level custom module (library/ beside the playbook), written for deployer's tests.
from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            text=dict(type="str", required=True),
        ),
        supports_check_mode=True,
    )
    path, wanted = module.params["path"], module.params["text"] + "\n"
    try:
        with open(path) as f:
            current = f.read()
    except FileNotFoundError:
        current = None
    changed = current != wanted
    if changed and not module.check_mode:
        with open(path, "w") as f:
            f.write(wanted)
    module.exit_json(changed=changed, path=path, diff=dict(before=current or "", after=wanted))


if __name__ == "__main__":
    main()
