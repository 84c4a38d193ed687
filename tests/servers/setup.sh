#!/bin/sh
# Creates a Python virtual environment (default target/pyenv) with the test servers'
# requirements, installed from PyPI; does nothing if it is already there.
set -eu
env="${1:-target/pyenv}"
here="$(cd "$(dirname "$0")" && pwd)"
if [ -x "$env/bin/python3" ] && "$env/bin/python3" -c "import websockets" 2>/dev/null; then
    exit 0
fi
python3 -m venv "$env"
"$env/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
