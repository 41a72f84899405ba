#!/usr/bin/env bash
# The production topology without Docker, against a local PostgreSQL and Redis:
# gunicorn (several workers sharing live updates, rate limits and metrics through
# Redis and files), the job scheduler, and a gate agent at lane P2-IN fed by the
# simulated camera. The same processes docker/compose.yaml runs as containers.
#
#   scripts/prod.sh [--seed-demo]
#
# DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/parkgate; created if
# missing), REDIS_URL (default redis://127.0.0.1:6379/0), PARKGATE_BIND
# (127.0.0.1:8000), PARKGATE_WORKERS (4), PARKGATE_INSTANCE (instance/prod: keys,
# secrets, agent state). Secrets come from PARKGATE_SECRET_KEY / PARKGATE_PII_KEY, or
# are generated once into $PARKGATE_INSTANCE/secrets.env (back that file up: without
# the PII key the stored ID numbers cannot be read). --seed-demo fills an empty
# database with the demo park so the agent's lane exists. Stops everything on
# Ctrl-C / SIGTERM, or when any one process dies.
set -euo pipefail
cd "$(dirname "$0")/.."
seed=0
[ "${1:-}" = "--seed-demo" ] && seed=1
bash scripts/install.sh >&2
# shellcheck disable=SC1091
. .venv/bin/activate

export PARKGATE_ENV=production
export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/parkgate}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export PARKGATE_INSTANCE="${PARKGATE_INSTANCE:-$PWD/instance/prod}"
export PARKGATE_BIND="${PARKGATE_BIND:-127.0.0.1:8000}"
export PARKGATE_WORKERS="${PARKGATE_WORKERS:-4}"
mkdir -p "$PARKGATE_INSTANCE"

secrets="$PARKGATE_INSTANCE/secrets.env"
if [ -z "${PARKGATE_SECRET_KEY:-}" ] || [ -z "${PARKGATE_PII_KEY:-}" ]; then
  if [ ! -f "$secrets" ]; then
    (umask 077 && python -c 'import secrets; print(f"PARKGATE_SECRET_KEY={secrets.token_hex(32)}\nPARKGATE_PII_KEY={secrets.token_hex(32)}")' > "$secrets")
  fi
  set -a
  # shellcheck disable=SC1090
  . "$secrets"
  set +a
fi

# Counters of all workers add up through files here; stale ones from a previous run
# would count twice.
export PROMETHEUS_MULTIPROC_DIR="$PARKGATE_INSTANCE/metrics"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

python -m parkgate.cli db create-if-missing
python -m parkgate.cli db upgrade
python -m parkgate.cli keys ensure  # before the workers: they must all sign with one key
if [ "$seed" = 1 ]; then
  python -m parkgate.cli seed-demo
fi

pids=()
stop() { trap - TERM INT EXIT; kill "${pids[@]}" 2>/dev/null || true; wait || true; }
trap stop TERM INT EXIT

gunicorn -c docker/gunicorn.conf.py parkgate.wsgi:app &
pids+=($!)
python -m parkgate.cli scheduler &
pids+=($!)

token_file="$PARKGATE_INSTANCE/agent-p2-in.token"
if [ ! -s "$token_file" ] && python -m parkgate.cli tokens issue --user device-p2-in \
      --name "P2-IN agent (prod.sh)" --lane P2-IN > "$token_file.new" 2>/dev/null; then
  mv "$token_file.new" "$token_file" && chmod 600 "$token_file"
fi
rm -f "$token_file.new"
if [ -s "$token_file" ]; then
  python -m gateway.agent --centre "http://$PARKGATE_BIND" --lane P2-IN \
    --token "$(cat "$token_file")" --source simulator --interval "${PARKGATE_AGENT_INTERVAL:-8}" \
    --state-dir "$PARKGATE_INSTANCE/agent-p2-in" &
  pids+=($!)
else
  echo "no lane P2-IN with a device user: the gate agent is not started (try --seed-demo)" >&2
fi

# Any one process ending ends the topology: a supervisor (systemd, compose) restarts it.
wait -n "${pids[@]}"
