"""The off-the-shelf pipeline we measure ourselves against: rapidocr's PP-OCRv4
detection and recognition with the package's defaults (rapidocr 3.8.4: PP-OCRv4
mobile det + rec from its wheel, the same weights rapidocr-onnxruntime 1.4.4 had) on
the whole image, taking the best match of the plate grammar among the texts it finds.

With its defaults the detector finds nothing in a tight 94×24 crop; so that the
comparison is with the strongest form of the baseline, an image in which detection
finds no plate is read again by the same recogniser alone (no detection).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from rules.plates import normalise, validate

# Any plate-shaped run of characters inside an OCR text line.
_PLATE_RUN = re.compile(r"[\u4e00-\u9fa5][A-Z][A-Z0-9]{4,6}[\u4e00-\u9fa5]?")


class BaselineReader:
    def __init__(self) -> None:
        from rapidocr import RapidOCR  # the package's own pipeline, defaults

        # Its defaults in all but logging (a line per model at every start otherwise).
        self.engine: Any = RapidOCR(params={"Global.log_level": "warning"})

    def read(self, image: np.ndarray) -> str | None:
        # The package's defaults, said each time: rapidocr 3.8.4 keeps the switches of its
        # last call, so after one fallback below it would skip detection on every image
        # that followed (it read no whole scene at all after the first tight crop).
        found = self._best(self._texts(self.engine(image, use_det=True, use_cls=True,
                                                   use_rec=True)))
        if found is None:
            found = self._best(self._texts(self.engine(image, use_det=False, use_cls=False,
                                                       use_rec=True)))
        return found

    @staticmethod
    def _texts(result: Any) -> list[tuple[None, str, float]]:
        # Whatever stage answered (a full result, or recognition alone), its texts.
        texts = getattr(result, "txts", None) or ()
        scores = getattr(result, "scores", None) or ()
        return [(None, t, s) for t, s in zip(texts, scores, strict=False)]

    @staticmethod
    def _best(result: Any) -> str | None:
        best: tuple[float, str] | None = None
        for _box, text, score in result:
            for match in _PLATE_RUN.finditer(normalise(text)):
                candidate = match.group(0)
                for cut in (candidate, candidate[:-1], candidate[:8], candidate[:7]):
                    if validate(cut).valid:
                        if best is None or float(score) > best[0]:
                            best = (float(score), cut)
                        break
        return best[1] if best else None
