#!/bin/sh
# The sample app's test suite, run on the controller before anything ships.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
grep -q '<h1>deployer sample app</h1>' "$here/public/index.html"
for script in serve restart migrate; do sh -n "$here/bin/$script"; done
echo "sample app: all tests passed"
