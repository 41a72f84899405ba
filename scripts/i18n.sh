#!/usr/bin/env bash
# Re-extract user-facing strings and merge them into the catalogs (translations kept).
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
pybabel extract -F babel.cfg -k N_ -k _l -o parkgate/translations/messages.pot \
  --ignore-dirs='.venv node_modules tests bench build' --no-location --sort-output . >/dev/null 2>&1
if [ -f parkgate/translations/zh_Hans_CN/LC_MESSAGES/messages.po ]; then
  pybabel update -i parkgate/translations/messages.pot -d parkgate/translations -l zh_Hans_CN \
    --no-fuzzy-matching --ignore-obsolete >/dev/null 2>&1
else
  pybabel init -i parkgate/translations/messages.pot -d parkgate/translations -l zh_Hans_CN >/dev/null
fi
python scripts/po_status.py
