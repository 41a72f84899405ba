"""Plate reading on labelled photos: ParkGate's reader beside the strongest
off-the-shelf pipeline measured here (rapidocr 3.8.4's PP-OCRv4 detection +
recognition with package defaults, best plate-grammar match), in the same process, on
the same images as they are (whole scenes and tight crops alike).

    python bench/plates.py [--data DIR ...] [--synthetic N] [--no-baseline]

Each DIR holds images and labels.csv (file,plate,kind,…,image_type,primary); rows with
primary = 0 (a second plate in the same photo) are skipped. Default: the development
folders under $PARKGATE_DATA_DIR (plates-dev, plates-dev2) that are there.

The photos are split, by a hash of each file's name, into the two thirds the reader
may be tuned on and the third held back from tuning (camera_adapters.evaluate.
held_back); figures are printed for both, with 95 % Wilson intervals, and so is the
confident-wrong rate: wrong reads at or above the default lane threshold, over all
reads. The synthetic set (yellow, double-row, 挂, green, yellow-green plates rendered
into 1920×1080 scenes; N per kind, 0 to skip) is drawn with a seed nobody tunes on
and reported apart.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from camera_adapters.evaluate import (  # noqa: E402
    Read,
    Report,
    evaluate,
    held_back,
    load_samples,
    summary_lines,
    wilson,
)

# Never tuned on: the rendered hold-out's seed.
SYNTHETIC_SEED = 20261206


def default_threshold() -> float:
    """A lane's confidence threshold when the park has not set one (G08)."""
    from models import Lane

    return float(Lane.__table__.c.confidence_threshold.default.arg)  # type: ignore[union-attr]


def figures(report: Report, threshold: float) -> dict[str, Any]:
    low, high = report.interval()
    wrong = report.confident_wrong(threshold)
    w_low, w_high = wilson(wrong, report.n)
    right, above = report.confident_right_share(threshold)
    return {"n": report.n, "accuracy": round(report.accuracy, 4),
            "accuracy_ci95": [round(low, 4), round(high, 4)],
            "confident_wrong_rate": round(report.confident_wrong_rate(threshold), 4),
            "confident_wrong_ci95": [round(w_low, 4), round(w_high, 4)],
            "right_above_threshold": [right, above],
            # How many reads the lane acts on without the booth (the rest are confirmed, G08).
            "above_threshold_share": round(above / report.n, 4) if report.n else 0.0,
            "second_opinion_share": round(report.second_opinion_share, 4),
            "median_ms": round(report.median_ms, 1), "p95_ms": round(report.percentile_ms(0.95), 1),
            "by_kind": {k: {"n": n, "accuracy": round(a, 4)} for k, (n, a) in
                        report.by_kind().items()},
            "by_image_type": {k: {"n": n, "accuracy": round(a, 4),
                                  "median_ms": round(report.median_ms_by_image_type()[k], 1)}
                              for k, (n, a) in report.by_image_type().items()}}


def halves(report: Report) -> tuple[Report, Report]:
    tuned = Report([o for o in report.outcomes if not held_back(o.sample)])
    kept = Report([o for o in report.outcomes if held_back(o.sample)])
    return tuned, kept


def main() -> None:
    from demo.paths import shared_data_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, action="append",
                        help="a labelled folder (repeat for several)")
    parser.add_argument("--synthetic", type=int, default=20, help="rendered plates per kind")
    parser.add_argument("--neighbours", type=int, default=20,
                        help="rendered two-vehicle scenes (the near plate is the answer)")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    folders = args.data
    if not folders:
        data = shared_data_dir()
        folders = [data / d for d in ("plates-dev", "plates-dev2")
                   if data is not None and (data / d / "labels.csv").is_file()]
        if not folders:
            parser.error("no --data given and no development photos under PARKGATE_DATA_DIR")
    samples = []
    for folder in folders:
        if not (folder / "labels.csv").exists():
            parser.error(f"{folder} has no labels.csv")
        samples += load_samples(folder)
    if not samples:
        parser.error("the labels name no existing images")
    threshold = default_threshold()
    threads = int(os.environ.get("PARKGATE_OCR_THREADS", "2"))
    kept = sum(held_back(s) for s in samples)
    print(f"{len(samples)} labelled images in {', '.join(map(str, folders))} "
          f"({len(samples) - kept} tuned on, {kept} held back); onnxruntime threads "
          f"{threads}; lane threshold {threshold}")

    started = time.perf_counter()
    import cv2

    from camera_adapters.models import load
    from camera_adapters.reader import PlateReader

    reader = PlateReader(load(threads))
    load_s = time.perf_counter() - started

    def ours(image: Any) -> Read:
        result = reader.read(image, want_crop=False)
        best = result.best
        return Read(best.plate if best else None, best.confidence if best else None,
                    result.second_opinion)

    ours(cv2.imread(str(samples[0].path)))  # warm-up: first run allocates
    report = evaluate(samples, ours)
    tuned, held = halves(report)
    print(f"model load {load_s:.2f} s")
    print("\n".join(summary_lines(report, "ParkGate reader, all photos", threshold)))
    print("\n".join(summary_lines(tuned, "  of which tuned on", threshold)))
    print("\n".join(summary_lines(held, "  of which held back", threshold)))
    out: dict[str, Any] = {"bench": "plates", **figures(report, threshold),
                           "threshold": threshold, "model_load_s": round(load_s, 3),
                           "tuned": figures(tuned, threshold), "held_back": figures(held, threshold)}

    if not args.no_baseline:
        started = time.perf_counter()
        from camera_adapters.baseline import BaselineReader

        baseline = BaselineReader()
        base_load_s = time.perf_counter() - started
        baseline.read(cv2.imread(str(samples[0].path)))  # warm-up, like ours
        base = evaluate(samples, baseline.read)
        print(f"baseline model load {base_load_s:.2f} s")
        print("\n".join(summary_lines(base, "PP-OCRv4 baseline (rapidocr defaults)")))
        out.update({"baseline_accuracy": round(base.accuracy, 4),
                    "baseline_median_ms": round(base.median_ms, 1),
                    "baseline_p95_ms": round(base.percentile_ms(0.95), 1),
                    "baseline_model_load_s": round(base_load_s, 3),
                    "baseline_held_back_accuracy": round(halves(base)[1].accuracy, 4),
                    "baseline_by_kind": {k: {"n": n, "accuracy": round(a, 4)}
                                         for k, (n, a) in base.by_kind().items()},
                    "baseline_median_ms_by_image_type": {
                        k: round(v, 1) for k, v in base.median_ms_by_image_type().items()}})
        ours_by_type = report.median_ms_by_image_type()
        for kind, ms in base.median_ms_by_image_type().items():
            print(f"median latency, {kind}: ParkGate {ours_by_type.get(kind, 0):.0f} ms, "
                  f"baseline {ms:.0f} ms")

    if args.synthetic > 0:
        from camera_adapters.synthetic import FontMissing, generate

        with tempfile.TemporaryDirectory() as tmp:
            try:
                folder = generate(Path(tmp), args.synthetic, seed=SYNTHETIC_SEED)
            except FontMissing as exc:
                print(f"synthetic set skipped: {exc}")
            else:
                synth = evaluate(load_samples(folder), ours)
                print("\n".join(summary_lines(synth, "ParkGate reader, rendered hold-out "
                                                     "1920×1080", threshold)))
                out["synthetic"] = figures(synth, threshold)
                if not args.no_baseline:
                    sbase = evaluate(load_samples(folder), baseline.read)
                    print("\n".join(summary_lines(sbase, "PP-OCRv4 baseline, rendered")))
                    out["synthetic"]["baseline_accuracy"] = round(sbase.accuracy, 4)
    if args.neighbours > 0:
        out["neighbours"] = neighbours(args.neighbours, ours,
                                       None if args.no_baseline else baseline.read, threshold)
    print(json.dumps(out, ensure_ascii=False))


def neighbours(count: int, ours: Any, base: Any, threshold: float) -> dict[str, Any]:
    """Two vehicles in view: how often each reader reads the one at the barrier, and how
    often the other vehicle's plate instead (a refusal or a wrong opening at a lane)."""
    import csv

    from camera_adapters.synthetic import FontMissing, generate_neighbours

    with tempfile.TemporaryDirectory() as tmp:
        try:
            folder = generate_neighbours(Path(tmp), count, seed=SYNTHETIC_SEED + 1)
        except FontMissing as exc:
            print(f"two-vehicle scenes skipped: {exc}")
            return {}
        with (folder / "labels.csv").open(encoding="utf-8") as f:
            other = {row["file"]: row["neighbour"] for row in csv.DictReader(f)}
        samples = load_samples(folder)
        out: dict[str, Any] = {}
        for name, read in (("ours", ours), ("baseline", base)):
            if read is None:
                continue
            report = evaluate(samples, read)
            wrong = sum(o.read == other[o.sample.path.name] for o in report.outcomes)
            low, high = report.interval()
            print(f"{name:<8} two vehicles in view: {report.right}/{report.n} read the near "
                  f"plate ({report.accuracy:.1%}, 95 % CI {low:.1%}–{high:.1%}), "
                  f"{wrong} the other vehicle's")
            out[name] = {"n": report.n, "near_plate_accuracy": round(report.accuracy, 4),
                         "near_plate_ci95": [round(low, 4), round(high, 4)],
                         "read_the_neighbour": wrong}
            if name == "ours":
                out[name]["confident_wrong"] = report.confident_wrong(threshold)
        return out


if __name__ == "__main__":
    main()
