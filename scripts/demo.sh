#!/usr/bin/env bash
# Install, then migrate and seed an embedded SQLite demo park and serve it on
# http://127.0.0.1:8000 (the demo logins are printed). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# shellcheck disable=SC1091
. .venv/bin/activate
exec parkgate demo "$@"
