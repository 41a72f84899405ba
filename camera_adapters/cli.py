"""`parkgate plates …`: read plates from images, measure the reader on a labelled
folder, render synthetic plates, watch a camera."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import click

from .lane_view import RegionError, RegionOfInterest
from .plate_read import IMAGE_SUFFIXES

ROI_HELP = ("The lane's region of interest, in fractions of the frame: x0,y0,x1,y1 or a "
            "polygon x,y x,y x,y …; plates whose centre lies outside are not read.")


def _roi(_ctx: click.Context, _param: click.Parameter, value: str | None
         ) -> RegionOfInterest | None:
    if value is None:
        return None
    try:
        return RegionOfInterest.parse(value)
    except RegionError as exc:
        raise click.BadParameter(str(exc)) from exc


@click.group()
def plates() -> None:
    """Plate reading: read, evaluate, synthesise, watch."""


def _images(paths: tuple[Path, ...]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            out.append(path)
    return out


@plates.command("read")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per image.")
@click.option("--roi", callback=_roi, help=ROI_HELP)
def read_command(paths: tuple[Path, ...], as_json: bool, roi: RegionOfInterest | None) -> None:
    """Read the plates in images (or every image in folders)."""
    from .evaluate import read_image
    from .reader import PlateReader

    reader = PlateReader()
    failed = False
    for path in _images(paths):
        try:
            image = read_image(path)
        except ValueError as exc:
            click.echo(f"{path}: {exc}", err=True)
            failed = True
            continue
        result = reader.read(image, want_crop=False, roi=roi)
        best = result.best
        if as_json:
            click.echo(json.dumps({
                "file": str(path), "plate": best.plate if best else None,
                "colour": best.colour if best else None, "layout": best.layout if best else None,
                "kind": best.kind if best else None,
                "confidence": best.confidence if best else None,
                "char_confidence": list(best.char_confidence) if best else [],
                "recognisers_agree": best.agreed if best else None,
                "second_look": result.second_opinion,
                "valid": best.valid if best else False, "ms": round(result.elapsed_ms, 1)},
                ensure_ascii=False))
        elif best is None:
            click.echo(f"{path}\t—\t{result.elapsed_ms:.0f} ms")
        else:
            click.echo(f"{path}\t{best.plate}\t{best.colour or '?'}\t{best.layout}\t"
                       f"{best.confidence:.2f}{'' if best.valid else ' (invalid)'}"
                       f"{'' if best.agreed else ' (recognisers disagree)'}\t"
                       f"{result.elapsed_ms:.0f} ms")
    if failed:
        sys.exit(1)


@plates.command("evaluate")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--baseline", is_flag=True,
              help="Also run the off-the-shelf PP-OCRv4 pipeline on the same images.")
@click.option("--misses", is_flag=True, help="List every image read wrongly.")
def evaluate_command(folder: Path, baseline: bool, misses: bool) -> None:
    """Accuracy on a labelled folder (labels.csv: file,plate,kind,…)."""
    from .evaluate import evaluate, load_samples, summary_lines
    from .reader import PlateReader

    if not (folder / "labels.csv").exists():
        raise click.BadParameter("no labels.csv in the folder", param_hint="FOLDER")
    samples = load_samples(folder)
    if not samples:
        raise click.BadParameter("labels.csv names no existing images", param_hint="FOLDER")
    reader = PlateReader()

    def ours(image):  # type: ignore[no-untyped-def]
        best = reader.read(image, want_crop=False).best
        return best.plate if best else None

    report = evaluate(samples, ours)
    click.echo("\n".join(summary_lines(report, "ParkGate reader")))
    if misses:
        for o in report.outcomes:
            if not o.correct:
                click.echo(f"  miss {o.sample.path.name}: {o.sample.plate} → {o.read or '—'}")
    if baseline:
        from .baseline import BaselineReader

        base = BaselineReader()
        click.echo("\n".join(summary_lines(evaluate(samples, base.read), "PP-OCRv4 baseline")))


@plates.command("synth")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--per-kind", default=20, show_default=True)
@click.option("--seed", default=7, show_default=True)
@click.option("--scenes", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of background photos (default: plain rendered scenes).")
def synth_command(folder: Path, per_kind: int, seed: int, scenes: Path | None) -> None:
    """Render yellow, double-row, 挂 and green plates into scenes, with labels.csv."""
    from .synthetic import FontMissing, generate

    try:
        generate(folder, per_kind, seed=seed, scene_dir=scenes)
    except FontMissing as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {folder / 'labels.csv'}")


@plates.command("watch")
@click.argument("source")
@click.option("--lane", default="CAMERA", show_default=True)
@click.option("--interval", default=2.0, show_default=True,
              help="Seconds between vehicles (simulator, folder).")
@click.option("--roi", callback=_roi, help=ROI_HELP)
def watch_command(source: str, lane: str, interval: float, roi: RegionOfInterest | None) -> None:
    """Print one read per vehicle from SOURCE: rtsp://…, http://…, a video file,
    folder:PATH or simulator."""
    from .sources import reads_from

    stop = threading.Event()
    try:
        for read in reads_from(source, lane, interval_s=interval, stop=stop, roi=roi):
            click.echo(f"{read.seen_at:%H:%M:%S} {read.lane} {read.plate} {read.colour or '?'} "
                       f"{read.layout} {read.confidence:.2f}")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        stop.set()
