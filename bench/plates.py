"""Plate reading on labelled photos: ParkGate's reader beside the strongest
off-the-shelf pipeline measured here (rapidocr 3.8.4's PP-OCRv4 detection +
recognition with package defaults, best plate-grammar match), in the
same process, on the same images as they are (whole scenes and tight crops alike).

    python bench/plates.py [--data DIR] [--synthetic N] [--no-baseline]

DIR holds images and labels.csv (file,plate,kind,…); default $PARKGATE_DATA_DIR/plates-dev.
The synthetic set (yellow, double-row, 挂, green, yellow-green plates rendered into
1920×1080 scenes; N per kind, 0 to skip) is reported apart from the real photos.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from camera_adapters.evaluate import Report, evaluate, load_samples, summary_lines  # noqa: E402


def _round(report: Report) -> dict[str, float]:
    return {"accuracy": round(report.accuracy, 4), "median_ms": round(report.median_ms, 1),
            "p95_ms": round(report.percentile_ms(0.95), 1)}


def main() -> None:
    from demo.paths import plates_dev_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=plates_dev_dir())
    parser.add_argument("--synthetic", type=int, default=20, help="rendered plates per kind")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    if not (args.data / "labels.csv").exists():
        parser.error(f"{args.data} has no labels.csv")
    samples = load_samples(args.data)
    if not samples:
        parser.error(f"{args.data}/labels.csv names no existing images")
    threads = int(os.environ.get("PARKGATE_OCR_THREADS", "2"))
    print(f"{len(samples)} labelled images in {args.data}; onnxruntime threads {threads}")

    started = time.perf_counter()
    from camera_adapters.models import load
    from camera_adapters.reader import PlateReader

    reader = PlateReader(load(threads))
    load_s = time.perf_counter() - started

    def ours(image):  # type: ignore[no-untyped-def]
        best = reader.read(image, want_crop=False).best
        return best.plate if best else None

    ours(__import__("cv2").imread(str(samples[0].path)))  # warm-up: first run allocates
    report = evaluate(samples, ours)
    print(f"model load {load_s:.2f} s")
    print("\n".join(summary_lines(report, "ParkGate reader")))
    figures: dict[str, object] = {"bench": "plates", "n": report.n, **_round(report),
                                  "model_load_s": round(load_s, 3),
                                  "by_kind": {k: {"n": n, "accuracy": round(a, 4)}
                                              for k, (n, a) in report.by_kind().items()}}

    if not args.no_baseline:
        started = time.perf_counter()
        from camera_adapters.baseline import BaselineReader

        baseline = BaselineReader()
        base_load_s = time.perf_counter() - started
        baseline.read(__import__("cv2").imread(str(samples[0].path)))  # warm-up, like ours
        base = evaluate(samples, baseline.read)
        print(f"baseline model load {base_load_s:.2f} s")
        print("\n".join(summary_lines(base, "PP-OCRv4 baseline (rapidocr defaults)")))
        figures.update({"baseline_accuracy": round(base.accuracy, 4),
                        "baseline_median_ms": round(base.median_ms, 1),
                        "baseline_p95_ms": round(base.percentile_ms(0.95), 1),
                        "baseline_model_load_s": round(base_load_s, 3),
                        "baseline_by_kind": {k: {"n": n, "accuracy": round(a, 4)}
                                             for k, (n, a) in base.by_kind().items()}})

    if args.synthetic > 0:
        from camera_adapters.synthetic import FontMissing, generate

        with tempfile.TemporaryDirectory() as tmp:
            try:
                folder = generate(Path(tmp), args.synthetic, seed=7)
            except FontMissing as exc:
                print(f"synthetic set skipped: {exc}")
            else:
                synth = evaluate(load_samples(folder), ours)
                print("\n".join(summary_lines(synth, "ParkGate reader, synthetic 1920×1080")))
                figures["synthetic"] = {"n": synth.n, **_round(synth), "by_kind": {
                    k: {"n": n, "accuracy": round(a, 4)} for k, (n, a) in synth.by_kind().items()}}
                if not args.no_baseline:
                    sbase = evaluate(load_samples(folder), baseline.read)
                    print("\n".join(summary_lines(sbase, "PP-OCRv4 baseline, synthetic")))
                    figures["synthetic"]["baseline"] = _round(sbase)  # type: ignore[index]
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
