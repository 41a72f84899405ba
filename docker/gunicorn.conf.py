"""gunicorn for ParkGate: threads, not processes, carry the open live-update streams."""

import multiprocessing
import os

bind = os.environ.get("PARKGATE_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("PARKGATE_WORKERS", max(2, multiprocessing.cpu_count())))
worker_class = "gthread"
threads = int(os.environ.get("PARKGATE_THREADS", 32))
# SSE streams stay open; a gthread worker's timeout is its heartbeat, not a request limit.
timeout = 60
graceful_timeout = 20
keepalive = 5
# ParkGate writes one JSON line per request itself (parkgate.logs), with its id.
accesslog = None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def child_exit(server, worker):
    # A dead worker's gauges must not linger in the shared metrics files.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
