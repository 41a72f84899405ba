"""The plate reader's own metrics (prometheus_client's process registry): the web
shell's /metrics serves them with the rest; nothing here knows the shell."""

from __future__ import annotations

from prometheus_client import Histogram

OCR_SECONDS = Histogram("parkgate_ocr_seconds", "Plate recognition per frame",
                        buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
