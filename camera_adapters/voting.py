"""One read per vehicle from the many frames a camera sees of it.

A vehicle rolling up to a barrier is in view for one to several seconds: 10–50
frames, each read on its own, some wrong in a character or two (glare, motion blur,
the plate half in view). Observations on one lane that are close in time and in
text belong to one *track*; a track votes per character position, each vote
weighted by that character's own confidence, and emits one PlateRead — early, as
soon as enough frames agree, or when the vehicle has gone (no observation for
`gap_s`). Pure over plain data and an explicit clock, so the gate agent, the demo
and the tests run the same code.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rapidfuzz.distance import Levenshtein

from .plate_read import PlateRead


@dataclass(frozen=True)
class Observation:
    """One frame's best reading."""

    lane: str
    plate: str
    confidence: float
    seen_at: datetime
    char_confidence: tuple[float, ...] = ()
    colour: str | None = None
    layout: str = "single"
    crop_jpeg: bytes | None = None
    source: str = "camera"
    scene_jpeg: bytes | None = None

    def weights(self) -> tuple[float, ...]:
        if len(self.char_confidence) == len(self.plate):
            return self.char_confidence
        return (self.confidence,) * len(self.plate)


@dataclass(frozen=True)
class VotingPolicy:
    gap_s: float = 1.5  # silence after which the vehicle has gone
    max_track_s: float = 10.0  # a queue that never clears still yields one read per 10 s
    early_frames: int = 3  # emit early after this many frames …
    early_confidence: float = 0.9  # … when the vote is at least this sure
    similarity: float = 0.6  # share of positions that must agree to join a track
    repeat_s: float = 20.0  # the same plate on the same lane again within this is one vehicle


@dataclass(frozen=True)
class Vote:
    plate: str
    confidence: float
    colour: str | None
    layout: str
    frames: int
    agreeing: int


def similarity(a: str, b: str) -> float:
    """Edit-distance similarity: one character misread, lost or gained (a plate half
    out of frame, a province character the reader missed) keeps a read in its track."""
    return Levenshtein.normalized_similarity(a, b) if a and b else 0.0


def vote(observations: list[Observation]) -> Vote:
    """Per-character vote weighted by confidence, among observations of the winning
    length. The confidence is the weakest position's share of the weight times the
    mean confidence of the characters that won there: agreement alone does not make
    a sure read out of unsure frames."""
    by_length: dict[int, float] = defaultdict(float)
    for o in observations:
        by_length[len(o.plate)] += o.confidence
    length = max(by_length, key=lambda n: (by_length[n], n))
    same = [o for o in observations if len(o.plate) == length]
    chars: list[str] = []
    confidence = 1.0
    for i in range(length):
        tally: dict[str, list[float]] = defaultdict(list)
        for o in same:
            tally[o.plate[i]].append(o.weights()[i])
        winner = max(tally, key=lambda c: (sum(tally[c]), len(tally[c])))
        total = sum(sum(v) for v in tally.values()) or 1.0
        support = tally[winner]
        share = sum(support) / total
        confidence = min(confidence, share * (sum(support) / len(support)))
        chars.append(winner)
    plate = "".join(chars)
    colours: dict[str | None, float] = defaultdict(float)
    layouts: dict[str, float] = defaultdict(float)
    for o in same:
        colours[o.colour] += o.confidence
        layouts[o.layout] += o.confidence
    colour = max(colours, key=lambda c: (c is not None, colours[c]))
    layout = max(layouts, key=lambda k: layouts[k])
    return Vote(plate, round(confidence, 4), colour, layout, len(observations),
                sum(o.plate == plate for o in observations))


@dataclass
class Track:
    lane: str
    started_at: datetime
    last_at: datetime
    observations: list[Observation] = field(default_factory=list)
    emitted: str | None = None  # the plate this track has already sent, if any

    def add(self, obs: Observation) -> None:
        self.observations.append(obs)
        self.last_at = max(self.last_at, obs.seen_at)

    def leader(self) -> str:
        return vote(self.observations).plate


class PlateVoter:
    """Feed observations with add(); call flush(now) regularly (say every 200 ms) so a
    vehicle that left is emitted; both return the PlateReads that became final."""

    def __init__(self, policy: VotingPolicy | None = None) -> None:
        self.policy = policy or VotingPolicy()
        self._tracks: dict[str, list[Track]] = defaultdict(list)
        self._recent: dict[tuple[str, str], datetime] = {}

    def add(self, obs: Observation) -> list[PlateRead]:
        out = self.flush(obs.seen_at)
        if not obs.plate:
            return out
        track = self._track_for(obs)
        track.add(obs)
        if track.emitted is None and len(track.observations) >= self.policy.early_frames:
            result = vote(track.observations)
            if result.confidence >= self.policy.early_confidence:
                out += self._emit(track, result)
        return out

    def flush(self, now: datetime) -> list[PlateRead]:
        gap = timedelta(seconds=self.policy.gap_s)
        longest = timedelta(seconds=self.policy.max_track_s)
        out: list[PlateRead] = []
        for lane, tracks in self._tracks.items():
            keep = []
            for track in tracks:
                if now - track.last_at >= gap or now - track.started_at >= longest:
                    if track.emitted is None:
                        out += self._emit(track, vote(track.observations))
                else:
                    keep.append(track)
            self._tracks[lane] = keep
        horizon = now - timedelta(seconds=self.policy.repeat_s)
        self._recent = {k: t for k, t in self._recent.items() if t > horizon}
        return out

    def pending(self) -> int:
        return sum(len(t) for t in self._tracks.values())

    def _track_for(self, obs: Observation) -> Track:
        best: tuple[float, Track] | None = None
        for track in self._tracks[obs.lane]:
            score = similarity(obs.plate, track.leader())
            if score >= self.policy.similarity and (best is None or score > best[0]):
                best = (score, track)
        if best is not None:
            return best[1]
        track = Track(obs.lane, obs.seen_at, obs.seen_at)
        self._tracks[obs.lane].append(track)
        return track

    def _emit(self, track: Track, result: Vote) -> list[PlateRead]:
        track.emitted = result.plate
        key = (track.lane, result.plate)
        if key in self._recent:
            # Still the same vehicle (stopped at the barrier, or the camera saw it
            # again as it pulled away): the gate already has it.
            self._recent[key] = track.last_at
            return []
        self._recent[key] = track.last_at
        best = max((o for o in track.observations if o.plate == result.plate),
                   key=lambda o: o.confidence, default=track.observations[-1])
        return [PlateRead(
            lane=track.lane, plate=result.plate, colour=result.colour,
            confidence=result.confidence, seen_at=track.started_at, layout=result.layout,
            crop_jpeg=best.crop_jpeg, source=best.source, scene_jpeg=best.scene_jpeg)]
