"""Prometheus metrics. Under gunicorn every worker is a process of its own, so with
PROMETHEUS_MULTIPROC_DIR set (docker/gunicorn.conf.py and scripts/prod.sh set it) the
client library keeps the figures in files there and /metrics adds them up."""

from __future__ import annotations

import glob
import ipaddress
import os
import time
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

DECISIONS = Counter("parkgate_gate_decisions_total", "Gate decisions by outcome",
                    ["action", "offline"])
DECISION_SECONDS = Histogram("parkgate_gate_decision_seconds",
                             "Plate read in to decision committed",
                             buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
# The plate reader's, defined where it is measured (camera_adapters imports no web code).
from camera_adapters.metrics import OCR_SECONDS  # noqa: E402, F401

AGENT_LINK_UP = Gauge("parkgate_agent_link_up", "1 while the gate agent reaches the centre",
                      ["lane"], multiprocess_mode="max")
AGENT_OUTBOX = Gauge("parkgate_agent_outbox_pending",
                     "Offline decisions waiting to be replayed to the centre", ["lane"],
                     multiprocess_mode="max")
REQUESTS = Counter("parkgate_http_requests_total", "HTTP requests", ["method", "status"])
VENDOR_EVENTS = Counter("parkgate_camera_events_total",
                        "Camera pushes by vendor and outcome (decided, replayed, ignored, "
                        "refused, unknown_device, unauthorised)", ["vendor", "outcome"])
VENDOR_PICTURES_DROPPED = Counter("parkgate_camera_pictures_dropped_total",
                                  "Pictures dropped from camera events (the read was kept)",
                                  ["vendor", "reason"])
REQUEST_SECONDS = Histogram("parkgate_http_request_seconds", "HTTP request latency",
                            ["method"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                 2.5, 5, 10))

_PRIVATE = [ipaddress.ip_network(n) for n in
            ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]


class LotCollector:
    """Queue lengths per plant, read from the database when scraped (the database is
    the truth; a counter kept in a worker would drift)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Any:
        from sqlalchemy import func, select

        from models import Plant, QueueEntry

        family = GaugeMetricFamily("parkgate_lot_queue_length",
                                   "Trips waiting in the hazmat lot per plant", labels=["plant"])
        from sqlalchemy.orm import Session

        from models.db import read_only

        database = self.app.extensions["parkgate.db"]
        # A reader's transaction: on SQLite a writer's (BEGIN IMMEDIATE) would wait the
        # whole busy timeout for the lock the scrape's own request session holds.
        with Session(read_only(database.engine)) as session:
            rows = session.execute(
                select(Plant.code, func.count(QueueEntry.id))
                .join(QueueEntry, QueueEntry.plant_id == Plant.id)
                .where(QueueEntry.status.in_(("waiting", "held")))
                .group_by(Plant.code)).all()
        for plant, count in rows:
            family.add_metric([plant], count)
        yield family


class WorkerFiles:
    """The workers' figures from their files, as MultiProcessCollector adds them up,
    without the files a worker is still creating: such a file is empty for a moment,
    and reading it fails the whole scrape (prometheus/client_python#1199)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def collect(self) -> Any:
        from prometheus_client.multiprocess import MultiProcessCollector

        files = []
        for name in sorted(glob.glob(os.path.join(self.path, "*.db"))):
            try:
                if os.path.getsize(name) > 0:
                    files.append(name)
            except OSError:
                continue  # a dead worker's file, removed meanwhile
        return MultiProcessCollector.merge(files, accumulate=True)


def _exposition(app: Flask) -> bytes:
    from prometheus_client import REGISTRY

    if path := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        workers = CollectorRegistry()
        workers.register(WorkerFiles(path))  # type: ignore[arg-type]
    else:
        workers = REGISTRY
    lot = CollectorRegistry()
    lot.register(LotCollector(app))  # type: ignore[arg-type]
    return generate_latest(workers) + generate_latest(lot)


def _allowed(address: str | None, allow: list[Any]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in net for net in allow)


def init_app(app: Flask) -> None:
    from auth.access import public
    from kernel.errors import N_, Forbidden

    allow = [ipaddress.ip_network(n.strip()) for n in
             os.environ.get("PARKGATE_METRICS_ALLOW", "").split(",") if n.strip()] or _PRIVATE

    @public
    def metrics() -> Any:
        # Scrapers sit on the park's own network; the figures never leave it.
        if not _allowed(request.remote_addr, allow):
            raise Forbidden(N_("Metrics are for the park's monitoring network."),
                            code="METRICS_FORBIDDEN")
        return Response(_exposition(app), mimetype=CONTENT_TYPE_LATEST)

    app.add_url_rule("/metrics", "metrics", metrics)

    @app.after_request
    def _count(response: Any) -> Any:
        started = g.get("request_started")
        if started is not None and request.endpoint not in ("sse.stream", "metrics"):
            REQUEST_SECONDS.labels(request.method).observe(time.perf_counter() - started)
            REQUESTS.labels(request.method, str(response.status_code)).inc()
        return response
