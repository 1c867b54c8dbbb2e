# Shared by the acme.tools collection's module_utils (absolute import), for deployer's tests.
PREFIX = "note: "
