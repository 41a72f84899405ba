"""WSGI entry for gunicorn: `gunicorn -c docker/gunicorn.conf.py parkgate.wsgi:app`."""

import gc

from .app import create_app
from .logs import configure_logging

configure_logging()
app = create_app()
# What the app built at start-up lives as long as the process: keep it out of the
# collector's full passes, which otherwise walk it all and stall a request for ~120 ms
# every few hundred requests (measured on the gate's read path; after this, ~3 ms).
gc.freeze()
