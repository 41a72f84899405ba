"""Measuring a plate reader on a labelled folder (labels.csv: file, plate, kind, …)."""

from __future__ import annotations

import csv
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from rules.plates import normalise


@dataclass(frozen=True)
class Sample:
    path: Path
    plate: str
    kind: str
    image_type: str | None = None  # scene | crop, where labels.csv says


@dataclass
class Outcome:
    sample: Sample
    read: str | None
    ms: float

    @property
    def correct(self) -> bool:
        return self.read == normalise(self.sample.plate)


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.outcomes)

    @property
    def accuracy(self) -> float:
        return sum(o.correct for o in self.outcomes) / self.n if self.n else 0.0

    def by_kind(self) -> dict[str, tuple[int, float]]:
        return self._by(lambda s: s.kind)

    def by_image_type(self) -> dict[str, tuple[int, float]]:
        return self._by(lambda s: s.image_type or "unknown")

    def _by(self, key: Callable[[Sample], str]) -> dict[str, tuple[int, float]]:
        groups: dict[str, list[Outcome]] = defaultdict(list)
        for o in self.outcomes:
            groups[key(o.sample)].append(o)
        return {k: (len(v), sum(o.correct for o in v) / len(v)) for k, v in sorted(groups.items())}

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(o.ms for o in self.outcomes)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

    @property
    def median_ms(self) -> float:
        return statistics.median(o.ms for o in self.outcomes) if self.outcomes else 0.0

    def confusions(self, top: int = 10) -> list[tuple[str, str, int]]:
        """Character confusions (expected → read) over readings of the right length."""
        counts: Counter[tuple[str, str]] = Counter()
        for o in self.outcomes:
            expected = normalise(o.sample.plate)
            if o.read is None:
                counts[(expected[:1] + "…", "∅")] += 1
            elif len(o.read) == len(expected):
                for a, b in zip(expected, o.read, strict=True):
                    if a != b:
                        counts[(a, b)] += 1
            else:
                counts[(f"len {len(expected)}", f"len {len(o.read)}")] += 1
        return [(a, b, n) for (a, b), n in counts.most_common(top)]


def load_samples(folder: Path) -> list[Sample]:
    labels = folder / "labels.csv"
    out = []
    with labels.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if not row.get("file") or not row.get("plate"):
                continue
            path = folder / row["file"]
            if path.exists():
                out.append(Sample(path, row["plate"], row.get("kind") or "unknown",
                                  row.get("image_type") or None))
    return out


def read_image(path: Path) -> np.ndarray:
    data = np.frombuffer(path.read_bytes(), np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path} is not an image")
    return image


def evaluate(samples: list[Sample], read: Callable[[np.ndarray], str | None]) -> Report:
    report = Report()
    for sample in samples:
        image = read_image(sample.path)
        started = time.perf_counter()
        text = read(image)
        report.outcomes.append(Outcome(sample, text, (time.perf_counter() - started) * 1000))
    return report


def summary_lines(report: Report, title: str) -> list[str]:
    """The report as a person reads it: accuracy overall and per kind, latency, and
    which characters were confused."""
    lines = [f"{title}: {report.n} images, exact plate {report.accuracy:.1%}, "
             f"median {report.median_ms:.0f} ms, p95 {report.percentile_ms(0.95):.0f} ms"]
    for kind, (n, accuracy) in report.by_kind().items():
        lines.append(f"  {kind:<14} {n:>4}  {accuracy:.1%}")
    types = report.by_image_type()
    if set(types) != {"unknown"}:
        lines.append("  by image: " + ", ".join(f"{t} {n} {a:.1%}" for t, (n, a) in types.items()))
    confusions = report.confusions()
    if confusions:
        lines.append("  confusions (expected → read ×n): " + ", ".join(
            f"{a}→{b}×{n}" for a, b, n in confusions))
    return lines
