#!/usr/bin/env bash
# Install ParkGate and everything it needs into .venv from the lock files (with
# hashes; see scripts/lock.sh). Idempotent: a re-run with the same lock does nothing.
# With --for-tests it installs the test tools too (requirements/dev.lock) and the
# system packages the tests drive (Debian's chromium and the CJK fonts for rendered
# plates).
set -euo pipefail
cd "$(dirname "$0")/.."

for_tests=0
[ "${1:-}" = "--for-tests" ] && for_tests=1

python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python=$candidate; break; fi
  done
fi
"$python" -c 'import sys; assert sys.version_info[:2] >= (3, 11), "ParkGate needs Python 3.11+"'

if [ "$for_tests" = 1 ]; then
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing system packages: ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

[ -d .venv ] || "$python" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate

# Exactly what the lock names, each file checked against its hash; then ParkGate itself
# (editable, built with the locked setuptools, so nothing unpinned is fetched).
lock=requirements/runtime.lock
name=runtime
[ "$for_tests" = 1 ] && lock=requirements/dev.lock && name=dev
digest() { cat "$1" pyproject.toml scripts/install.sh | sha256sum | cut -d' ' -f1; }
# One stamp per lock: the test lock pins every server package at the same version
# (tests/unit/test_lock.py), so installing it also satisfies the server's lock, and a
# server started from a test run (scripts/prod.sh) finds nothing to reinstall.
stamp=.venv/.parkgate-installed-$name
want=$(digest "$lock")
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing ParkGate and its locked dependencies ($lock) into .venv …"
  python -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r "$lock"
  python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation \
    --config-settings editable_mode=compat -e .
  # The one requirement the lock overrides away (requirements/overrides.txt) is not a
  # problem; anything else pip check finds is.
  problems=$(python -m pip check | grep -v "requires opencv-python, which is not installed" \
    | grep -v "^No broken requirements" || true)
  [ -z "$problems" ] || { echo "$problems"; exit 1; }
  echo "$want" > "$stamp"
  if [ "$name" = dev ]; then
    digest requirements/runtime.lock > .venv/.parkgate-installed-runtime
  fi
fi
python -c 'from parkgate.i18n import ensure_compiled; ensure_compiled()'
