#!/usr/bin/env bash
# CI for the Python package (issue 18): build and install the wheel into a venv of its own,
# then test the binding against the CLI and transformers' committed outputs, and the Ray and
# Spark adapters on local clusters inside a private network namespace (only loopback).
# The engine tests run when VITRS_ENGINES=1 (not yet by default: see the README).
# Needs: python3 with venv, the registries (PyPI, Debian's packages for Java).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=target/pyci-venv
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q -r python/requirements-ci.txt
start=$(date +%s)
"$VENV/bin/pip" install -q ./python
echo "python: pip install ./python took $(( $(date +%s) - start )) s"
cargo build -q -p vitrs
export VITRS_CLI="$PWD/target/debug/vitrs"
"$VENV/bin/python" -m pytest -q python/tests/test_binding.py
if [ "${VITRS_ENGINES:-0}" = 1 ]; then
    command -v java >/dev/null || {
        apt-get update -qq && apt-get install -y -qq --no-install-recommends default-jre-headless >/dev/null
    }
    "$VENV/bin/pip" install -q -r python/requirements-engines.txt
    unshare --net bash -c "ip link set lo up && $VENV/bin/python -m pytest -q python/tests/test_engines.py"
fi
