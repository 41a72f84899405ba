"""gunicorn for ParkGate: threads, not processes, carry the open live-update streams."""

import multiprocessing
import os
import sys

bind = os.environ.get("PARKGATE_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("PARKGATE_WORKERS", max(2, multiprocessing.cpu_count())))
worker_class = "gthread"
threads = int(os.environ.get("PARKGATE_THREADS", 32))
# An open live page holds a request thread for as long as it is open, and a gthread
# worker accepts connections beyond its threads (1000 by default) and queues them. With
# 50 pages open, a worker that happened to accept 20 of them left 4, and every request
# queued behind them, waiting for ever. So a worker streams to at most three quarters
# of its threads (parkgate.sse answers a page beyond that 503 with Retry-After, and the
# page reconnects, likely to another worker): the rest always serve requests. It also
# accepts at most twice its threads, so the pages spread over the workers, and
# keep-alive connections still have room.
worker_connections = threads * 2
sse_max_streams = max(1, threads * 3 // 4)
# SSE streams stay open; a gthread worker's timeout is its heartbeat, not a request limit.
timeout = 60
graceful_timeout = 20
keepalive = 5
# ParkGate writes one JSON line per request itself (parkgate.logs), with its id.
accesslog = None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# A request thread whose database answer has come waits for the interpreter until the
# thread holding it lets go, by default after up to 5 ms; a read waits on the database
# a dozen times. At 1 ms, reads under load wait less: on the gate bench at 120 reads/s
# on 2 cores, p50 8.0-8.8 ms against 9.5-10.8 and p99 32-37 ms against 45-119 (A/B, same
# minutes, both orders).
switch_interval_s = float(os.environ.get("PARKGATE_SWITCH_INTERVAL_MS", 1)) / 1000


def on_starting(server):
    # In the master, before the workers fork (they inherit it); not at import, so
    # reading this file changes no environment.
    os.environ.setdefault("PARKGATE_SSE_MAX_STREAMS", str(sse_max_streams))


def post_worker_init(worker):
    sys.setswitchinterval(switch_interval_s)


def child_exit(server, worker):
    # A dead worker's gauges must not linger in the shared metrics files.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
