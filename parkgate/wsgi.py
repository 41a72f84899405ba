"""WSGI entry for gunicorn: `gunicorn -c docker/gunicorn.conf.py parkgate.wsgi:app`."""

from .app import create_app

app = create_app()
