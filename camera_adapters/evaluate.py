"""Measuring a plate reader on a labelled folder (labels.csv: file, plate, kind, …):
accuracy with its 95 % Wilson interval, overall, per kind and per image type, the
confident-wrong rate (wrong reads at or above a lane's threshold, over all reads), how
often a second opinion ran, and a fixed split of the photos into a half tuned on and a
half held back."""

from __future__ import annotations

import csv
import hashlib
import math
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


@dataclass(frozen=True)
class Read:
    """What a reader under test says of one image."""

    plate: str | None
    confidence: float | None = None
    second_opinion: bool = False


@dataclass
class Outcome:
    sample: Sample
    read: str | None
    ms: float
    confidence: float | None = None
    second_opinion: bool = False

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

    @property
    def right(self) -> int:
        return sum(o.correct for o in self.outcomes)

    def interval(self) -> tuple[float, float]:
        return wilson(self.right, self.n)

    def confident_wrong(self, threshold: float) -> int:
        """Reads at or above `threshold` that are wrong: the lane would act on them."""
        return sum(1 for o in self.outcomes if not o.correct and o.read is not None
                   and o.confidence is not None and o.confidence >= threshold)

    def confident_wrong_rate(self, threshold: float) -> float:
        return self.confident_wrong(threshold) / self.n if self.n else 0.0

    def confident_right_share(self, threshold: float) -> tuple[int, int]:
        """(right, all) among reads at or above `threshold`."""
        above = [o for o in self.outcomes if o.read is not None and o.confidence is not None
                 and o.confidence >= threshold]
        return sum(o.correct for o in above), len(above)

    @property
    def second_opinion_share(self) -> float:
        return sum(o.second_opinion for o in self.outcomes) / self.n if self.n else 0.0

    def by_kind(self) -> dict[str, tuple[int, float]]:
        return self._by(lambda s: s.kind)

    def by_image_type(self) -> dict[str, tuple[int, float]]:
        return self._by(lambda s: s.image_type or "unknown")

    def median_ms_by_image_type(self) -> dict[str, float]:
        """Latency apart for tight crops and whole scenes: a scene costs a search that a
        camera's crop does not, so one median over a mix says little."""
        groups: dict[str, list[float]] = defaultdict(list)
        for o in self.outcomes:
            groups[o.sample.image_type or "unknown"].append(o.ms)
        return {k: statistics.median(v) for k, v in sorted(groups.items())}

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


def wilson(right: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of a proportion (right/n): honest at small n and
    near 0 or 1, where the normal approximation is not."""
    if n == 0:
        return 0.0, 1.0
    p = right / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def held_back(sample: Sample, *, share: int = 3) -> bool:
    """Whether a photo belongs to the half held back from tuning: one in `share`, chosen
    by a hash of its file name (fixed, whoever runs it, whatever else is in the
    folder)."""
    digest = hashlib.sha256(sample.path.name.encode()).digest()
    return digest[0] % share == 0


def load_samples(folder: Path) -> list[Sample]:
    """Every labelled image whose file exists; rows with primary = 0 (a second plate in
    the same photo, which the reader is not asked for) are skipped."""
    labels = folder / "labels.csv"
    out = []
    with labels.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if not row.get("file") or not row.get("plate"):
                continue
            if (row.get("primary") or "1").strip() == "0":
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


def evaluate(samples: list[Sample], read: Callable[[np.ndarray], str | Read | None]) -> Report:
    """`read` gives a plate (or None), or a Read with its confidence."""
    report = Report()
    for sample in samples:
        image = read_image(sample.path)
        started = time.perf_counter()
        said = read(image)
        ms = (time.perf_counter() - started) * 1000
        if not isinstance(said, Read):
            said = Read(said)
        report.outcomes.append(Outcome(sample, said.plate, ms, said.confidence,
                                       said.second_opinion))
    return report


def summary_lines(report: Report, title: str, threshold: float | None = None) -> list[str]:
    """The report as a person reads it: accuracy overall and per kind, latency, and
    which characters were confused."""
    low, high = report.interval()
    lines = [f"{title}: {report.n} images, exact plate {report.accuracy:.1%} "
             f"(95 % CI {low:.1%}–{high:.1%}), median {report.median_ms:.0f} ms, "
             f"p95 {report.percentile_ms(0.95):.0f} ms"]
    if threshold is not None and any(o.confidence is not None for o in report.outcomes):
        wrong = report.confident_wrong(threshold)
        w_low, w_high = wilson(wrong, report.n)
        right, above = report.confident_right_share(threshold)
        lines.append(f"  confident-wrong (≥ {threshold}): {wrong}/{report.n} = "
                     f"{report.confident_wrong_rate(threshold):.1%} (95 % CI {w_low:.1%}–"
                     f"{w_high:.1%}); right when ≥ {threshold}: {right}/{above}; second "
                     f"opinion on {report.second_opinion_share:.0%} of reads")
    for kind, (n, accuracy) in report.by_kind().items():
        k_low, k_high = wilson(round(accuracy * n), n)
        lines.append(f"  {kind:<14} {n:>4}  {accuracy:.1%} ({k_low:.0%}–{k_high:.0%})")
    types = report.by_image_type()
    if set(types) != {"unknown"}:
        lines.append("  by image: " + ", ".join(f"{t} {n} {a:.1%}" for t, (n, a) in types.items()))
    confusions = report.confusions()
    if confusions:
        lines.append("  confusions (expected → read ×n): " + ", ".join(
            f"{a}→{b}×{n}" for a, b, n in confusions))
    return lines
