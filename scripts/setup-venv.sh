#!/usr/bin/env bash
# Create .venv (once) and install the kernel and every plugin under plugins/ into it, editable.
# Usage: source-free; prints nothing but pip's errors. VENV overrides the location.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
fi
targets=(-e ".[test]")
for plugin in plugins/*/pyproject.toml; do
  [ -e "$plugin" ] && targets+=(-e "$(dirname "$plugin")[test]")
done
"$VENV/bin/pip" install --quiet "${targets[@]}"
