"""pyinfra inventory of the fleet that scripts/bench runs against: the app hosts of FLEET_APPS,
reached through the fleet's bastion by the ProxyJump of its ssh_config, with the fleet's key and
known_hosts file and strict host key checking, as the other tools."""
import os

_data = {
    "ssh_config_file": os.environ["FLEET_SSH_CONFIG"],
    "ssh_key": os.environ["FLEET_KEY"],
    "ssh_known_hosts_file": os.environ["FLEET_KNOWN_HOSTS"],
    "ssh_strict_host_key_checking": "yes",
    "ssh_allow_agent": False,
    "ssh_look_for_keys": False,
}

app = [(name, dict(_data)) for name in os.environ["FLEET_APPS"].split()]
