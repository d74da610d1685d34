#!/usr/bin/env bash
# Creates .venv (if missing) and installs atomflow with every pinned dependency.
# Idempotent: re-running only installs what changed. Used by `make run` and `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

# System libraries for the OpenKIM models (kimpy builds against libkim-api; openkim-models ships
# the Na-Sn MEAM potential). Installed only when missing and only as root.
need_apt=()
dpkg -s libkim-api-dev >/dev/null 2>&1 || need_apt+=(libkim-api-dev)
dpkg -s openkim-models >/dev/null 2>&1 || need_apt+=(openkim-models)
dpkg -s pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "install: apt-get install ${need_apt[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
    else
        echo "install: not root, skipping Debian packages ${need_apt[*]} (the 'kim' calculator will be unavailable)" >&2
    fi
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install --upgrade "pip>=24" wheel setuptools
# torch first and pinned: an unpinned torch would pull the CUDA build and several GB of packages.
"${PIP[@]}" install "torch==2.13.0"
extras="ml,test,cluster"
if dpkg -s libkim-api-dev >/dev/null 2>&1; then extras="$extras,kim"; fi
"${PIP[@]}" install -c requirements.lock -e ".[${extras}]"
"$VENV/bin/python" -m pip check
