#!/bin/sh
# One image, several roles.
set -e
case "$1" in
  web) exec gunicorn -c /app/docker/gunicorn.conf.py parkgate.wsgi:app ;;
  migrate) parkgate db upgrade && exec parkgate keys ensure ;;
  scheduler) exec parkgate scheduler ;;
  agent) shift; exec python -m gateway.agent "$@" ;;
  manage) shift; exec parkgate "$@" ;;
  *) exec "$@" ;;
esac
