#!/usr/bin/env bash
# The repository on its own, as a park's IT person gets it: cloned into an empty
# folder with nothing beside it (no ../shared, no PARKGATE_DATA_DIR, CI unset).
#   1. ./scripts/demo.sh comes up and its camera feeds the north gate (P2-IN) with
#      ParkGate's own rendered scenes;
#   2. a fast subset of ./scripts/test.sh passes, the photo tests skipping with their
#      reason.
# .ci/run runs this before the whole suite; it prints how long each step took.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
work=$(mktemp -d)
cleanup() { [ -n "${demo_pid:-}" ] && kill "$demo_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
git clone -q "$src" "$work/parkgate"
cd "$work/parkgate"
unset CI PARKGATE_DATA_DIR DATABASE_URL REDIS_URL
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

started=$SECONDS
PARKGATE_DEMO_CAMERA_INTERVAL=2 ./scripts/demo.sh --port "$port" > "$work/demo.log" 2>&1 &
demo_pid=$!
token=""
for _ in $(seq 1 600); do
  token=$(grep -oE '^ +P2-IN +pgt_[A-Za-z0-9_-]+' "$work/demo.log" | awk '{print $NF}' | head -1 || true)
  [ -n "$token" ] && break
  kill -0 "$demo_pid" 2>/dev/null || { cat "$work/demo.log"; echo "demo exited"; exit 1; }
  sleep 1
done
[ -n "$token" ] || { cat "$work/demo.log"; echo "demo did not come up"; exit 1; }
echo "standalone: demo up after $((SECONDS - started)) s (install included)"
grep -m1 "camera    lane P2-IN" "$work/demo.log"
reads=0
for _ in $(seq 1 240); do
  reads=$(curl -fsS -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$port/api/v1/lanes/P2-IN/passages?limit=50" \
    | python3 -c 'import json, sys; print(sum(p["subject_kind"] == "vehicle" for p in json.load(sys.stdin)["items"]))' || echo 0)
  [ "$reads" -ge 3 ] && break
  sleep 1
done
if grep -q "Traceback" "$work/demo.log"; then cat "$work/demo.log"; echo "a traceback in the demo"; exit 1; fi
[ "$reads" -ge 3 ] || { tail -50 "$work/demo.log"; echo "the camera fed no reads"; exit 1; }
echo "standalone: the demo camera fed $reads decided reads to P2-IN after $((SECONDS - started)) s"
kill "$demo_pid"; wait "$demo_pid" 2>/dev/null || true; demo_pid=""

started=$SECONDS
./scripts/test.sh -q tests/unit tests/integration/test_plate_reader.py \
  tests/integration/test_migrations.py -k "sqlite or not postgresql" -rs | tail -15
echo "standalone: fast subset of the tests passed in $((SECONDS - started)) s (install included)"
