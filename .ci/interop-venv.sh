#!/usr/bin/env bash
# CI: create (or reuse) the Python venv the PEFT/transformers interop tests run against.
# Usage: .ci/interop-venv.sh VENV_DIR   (then run the tests with SAP_PYTHON=VENV_DIR/bin/python)
# Idempotent: an existing venv that already imports the pinned packages is left as it is.
# Without a torch wheel in /opt/wheels it warns and exits 0, so the interop tests skip.
set -euo pipefail

venv="${1:?usage: $0 VENV_DIR}"
wheels="${SAP_WHEELS_DIR:-/opt/wheels}"
pkgs=("transformers==5.18.*" "peft==0.21.*" "safetensors" "numpy")

check='import torch, transformers, peft, safetensors, numpy; print("torch", torch.__version__, "transformers", transformers.__version__, "peft", peft.__version__)'
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" 2>/dev/null; then
  echo "interop-venv: $venv is ready"
  exit 0
fi

shopt -s nullglob
torch_wheels=("$wheels"/torch-*.whl)
shopt -u nullglob
if [ ${#torch_wheels[@]} -eq 0 ]; then
  echo "interop-venv: WARNING: no torch wheel in $wheels; not creating $venv (interop tests will skip)" >&2
  exit 0
fi

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
# The newest torch wheel when several lie there (sort -V orders the version in the name).
torch_wheel="$(printf '%s\n' "${torch_wheels[@]}" | sort -V | tail -n 1)"
# SAP_PIP_ARGS lets a CI host point pip at its mirror (e.g. --index-url file:///opt/pypi/simple).
# shellcheck disable=SC2086
"$venv/bin/pip" install --quiet --disable-pip-version-check ${SAP_PIP_ARGS:-} "$torch_wheel" "${pkgs[@]}"
"$venv/bin/python" -c "$check"
