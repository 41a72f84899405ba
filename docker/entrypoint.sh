#!/bin/sh
# One image, several roles.
set -e
case "$1" in
  web) exec gunicorn -c /app/docker/gunicorn.conf.py parkgate.wsgi:app ;;
  migrate) exec parkgate db upgrade ;;
  manage) shift; exec parkgate "$@" ;;
  *) exec "$@" ;;
esac
