"""WSGI entry for gunicorn: `gunicorn -c docker/gunicorn.conf.py parkgate.wsgi:app`."""

from .app import create_app
from .logs import configure_logging

configure_logging()
app = create_app()
