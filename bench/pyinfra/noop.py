"""Benchmark a) for pyinfra: the 20 trivial tasks of bench/noop.yml, alternating a command
`true` and a directory /tmp that is already there."""
from pyinfra.operations import files, server

for i in range(1, 21):
    if i % 2:
        server.shell(name=f"noop {i}", commands=["true"])
    else:
        files.directory(name=f"noop {i}", path="/tmp")
