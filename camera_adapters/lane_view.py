"""What a lane's camera should read in a frame full of vehicles: the plate inside the
lane's region of interest (set per lane, as ANPR cameras are configured) and, of the
plates there, the nearest one (the vehicle at the barrier, not the one queueing
behind it or passing in the next lane).

Pure geometry over plain tuples: no OpenCV, no frames.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from math import hypot

Point = tuple[float, float]
Quad = Sequence[Point]  # a plate's corners, clockwise from top-left

# A plate this much wider than the best-scoring one is nearer the camera: plates are
# all about 440 mm wide (GA 36), so width in pixels says distance. Below it two plates
# count as equally near and the better reading stays first.
NEARER = 1.2


class RegionError(ValueError):
    """A region of interest that cannot be used, with a message for the installer."""


@dataclass(frozen=True)
class RegionOfInterest:
    """A polygon in fractions of the frame (0–1 across, 0–1 down), so one setting fits
    every resolution the camera streams at."""

    points: tuple[Point, ...]

    @classmethod
    def parse(cls, spec: str) -> RegionOfInterest:
        """`x0,y0,x1,y1` (a rectangle) or `x,y x,y x,y …` (a polygon, three points or
        more), fractions of the frame's width and height."""
        # "0.1, 0.3, 0.6, 1" as typed by a person is "0.1,0.3,0.6,1".
        text = re.sub(r"\s*,\s*", ",", spec.strip())
        if not text:
            raise RegionError("the region of interest is empty")
        try:
            if " " in text or ";" in text:
                pairs = [p for p in text.replace(";", " ").split() if p]
                points = tuple(_pair(p) for p in pairs)
            else:
                values = [float(v) for v in text.split(",")]
                if len(values) != 4:
                    raise RegionError(
                        "a rectangle is x0,y0,x1,y1; a polygon is x,y x,y x,y … "
                        f"(got {len(values)} numbers)")
                x0, y0, x1, y1 = values
                points = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
        except ValueError as exc:
            if isinstance(exc, RegionError):
                raise
            raise RegionError(f"not a region of interest: {spec!r} ({exc})") from exc
        return cls.of(points)

    @classmethod
    def of(cls, points: Sequence[Point]) -> RegionOfInterest:
        if len(points) < 3:
            raise RegionError("a region of interest needs at least three points")
        for x, y in points:
            if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                raise RegionError(
                    f"({x}, {y}) is outside the frame: use fractions from 0 to 1")
        if _crossing(points):
            raise RegionError("the region's edges cross: give its corners in order around it")
        if abs(_area(points)) < 1e-4:
            raise RegionError("the region of interest has no area")
        return cls(tuple((float(x), float(y)) for x, y in points))

    def contains(self, point: Point, width: int, height: int) -> bool:
        """Whether a pixel position of a `width` × `height` frame lies in the region."""
        x, y = point
        return inside(self.points, (x / max(width, 1), y / max(height, 1)))

    def __str__(self) -> str:
        return " ".join(f"{x:g},{y:g}" for x, y in self.points)


def _pair(text: str) -> Point:
    x, _, y = text.partition(",")
    return float(x), float(y)


def _crossing(points: Sequence[Point]) -> bool:
    """Whether two edges of the polygon that share no corner cross (a bow tie)."""
    edges = list(zip(points, [*points[1:], points[0]], strict=True))
    n = len(edges)
    return any(_cross(edges[i], edges[j]) for i in range(n) for j in range(i + 2, n)
               if not (i == 0 and j == n - 1))


def _cross(a: tuple[Point, Point], b: tuple[Point, Point]) -> bool:
    def side(p: Point, q: Point, r: Point) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    (p1, p2), (p3, p4) = a, b
    return (side(p1, p2, p3) * side(p1, p2, p4) < 0) and (side(p3, p4, p1) * side(p3, p4, p2) < 0)


def _area(points: Sequence[Point]) -> float:
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1)
                     in zip(points, [*points[1:], points[0]], strict=True))


def inside(polygon: Sequence[Point], point: Point) -> bool:
    """Even-odd rule; a point on the edge may fall either way, which is fine at a
    region's border."""
    x, y = point
    result = False
    for (x0, y0), (x1, y1) in zip(polygon, [*polygon[1:], polygon[0]], strict=True):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            result = not result
    return result


def centre(quad: Quad) -> Point:
    return (sum(p[0] for p in quad) / len(quad), sum(p[1] for p in quad) / len(quad))


def width(quad: Quad) -> float:
    """A plate's width in pixels: the longer of its top and bottom edges."""
    tl, tr, br, bl = quad
    return max(hypot(tr[0] - tl[0], tr[1] - tl[1]), hypot(br[0] - bl[0], br[1] - bl[1]))


def same_plate(a: Quad, b: Quad) -> bool:
    """Two candidates that found one plate (a colour box and a text box, a looser and a
    tighter cut): either's centre lies inside the other."""
    return inside(a, centre(b)) or inside(b, centre(a))


def nearest_first(quads: Sequence[Quad], plausible: Sequence[bool]) -> int | None:
    """Which of readings (best first, by their reading score) to put first when there
    are plausible readings of two plates or more: the best reading of the plate that is
    clearly nearest (NEARER), else of the best plate. None: keep the order."""
    leaders: list[int] = []  # the best reading of each distinct plate, best first
    for i, quad in enumerate(quads):
        if plausible[i] and not any(same_plate(quad, quads[j]) for j in leaders):
            leaders.append(i)
    if len(leaders) < 2:
        return None
    pick = leaders[0]
    nearest = max(leaders, key=lambda i: width(quads[i]))
    if width(quads[nearest]) >= NEARER * width(quads[pick]):
        pick = nearest
    # Even when none is clearly nearer, a weak reading of another plate that scored
    # higher does not stay ahead of the plausible ones.
    return None if pick == 0 else pick


def nearer_unread(read: Sequence[Quad], unread: Sequence[Quad]) -> bool:
    """Whether a candidate not yet read may be a nearer plate than every one read so
    far (so the search goes on even after a strong reading)."""
    if not read:
        return bool(unread)
    widest = max(width(q) for q in read)
    return any(width(q) >= NEARER * widest and not any(same_plate(q, r) for r in read)
               for q in unread)
