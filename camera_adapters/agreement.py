"""Two recognisers, one reading: ParkGate's plate recogniser checks PP-OCR's reading of
the same rows, and their agreement is what a read's confidence rests on (G08).

Pure functions over per-frame probabilities: which plate text both recognisers find
likeliest (the sum of their CTC log-likelihoods, over the texts either read and the
mixes of the two where they differ), and how sure the pair is of it, character by
character. Two recognisers trained apart rarely make the same mistake; where they do
not agree, or agree only weakly, the read stays below any sensible lane threshold and
the booth confirms it. A second look (re-rectified views of the same plate) adds
opinions and likelihoods the same way.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

NEG = -1e30
# At most this many differing positions are mixed (2^n texts scored).
MAX_MIXED = 4


def log_likelihood(probs: np.ndarray, ids: list[int]) -> float:
    """log P(text | frames) under CTC: the sum over every alignment (blank = index 0)."""
    T = probs.shape[0]
    if not ids:
        return float(np.log(np.maximum(probs[:, 0], 1e-12)).sum())
    ext = np.zeros(2 * len(ids) + 1, dtype=np.int64)
    ext[1::2] = ids
    S = len(ext)
    logp = np.log(np.maximum(probs[:, ext], 1e-12))  # T × S
    # A state may be reached from two back when it is a character unlike the one before.
    skip = np.zeros(S, dtype=bool)
    skip[3::2] = ext[3::2] != ext[1:-2:2]
    alpha = np.full(S, NEG)
    alpha[0] = logp[0, 0]
    alpha[1] = logp[0, 1]
    for t in range(1, T):
        prev1 = np.concatenate(([NEG], alpha[:-1]))
        prev2 = np.where(skip, np.concatenate(([NEG, NEG], alpha[:-2])), NEG)
        alpha = np.logaddexp(np.logaddexp(alpha, prev1), prev2) + logp[t]
    return float(np.logaddexp(alpha[-1], alpha[-2]) if S > 1 else alpha[-1])


@dataclass(frozen=True)
class Opinion:
    """One recogniser's reading of one view of a plate: its text and per-character
    confidence."""

    text: str
    char_confidence: tuple[float, ...]
    recogniser: str = ""  # which one read it ("": a recogniser of its own)


@dataclass(frozen=True)
class Agreed:
    text: str
    char_confidence: tuple[float, ...]
    agreed: bool  # every opinion read exactly this text

    @property
    def confidence(self) -> float:
        return min(self.char_confidence) if self.char_confidence else 0.0


# A character the first reading was sure of, changed by the others' votes, is at most
# this sure: below any lane threshold, however many views agreed (G08).
OUTVOTED_CAP = 0.5


def _says(opinions: list[Opinion], length: int, i: int) -> dict[str, str]:
    """What each recogniser reads at position i: the character most of its readings of
    that length put there (a tie says nothing)."""
    tallies: dict[str, dict[str, int]] = {}
    for n, o in enumerate(opinions):
        if len(o.text) == length:
            votes = tallies.setdefault(o.recogniser or f"#{n}", {})
            votes[o.text[i]] = votes.get(o.text[i], 0) + 1
    said = {}
    for recogniser, votes in tallies.items():
        ranked = sorted(votes.values(), reverse=True)
        if len(ranked) == 1 or ranked[0] > ranked[1]:
            said[recogniser] = max(votes, key=votes.__getitem__)
    return said


def outvoted(first: Opinion, others: list[Opinion], i: int, char: str) -> bool:
    """More recognisers read `char` at position i than read the first reading's own
    character there, counting each recogniser once, by what most of its views read: a
    recogniser that looked three times is still one voice."""
    said = _says([first, *others], len(first.text), i)
    against = sum(c == char for c in said.values())
    return against >= 2 and against > sum(c == first.text[i] for c in said.values())


def candidates(first: Opinion, others: list[Opinion], sure: float) -> list[str]:
    """The texts worth scoring: the reading under check and, for each other reading as
    long as it, every mix of the two at the positions where they differ and the reading
    under check was less than `sure` (a few), or was outvoted there. A sure character
    is never overruled by one recogniser (the checker is the smaller model), only by
    more recognisers than agree with it: with a third, two of three."""
    out = [first.text]
    for other in others:
        if len(other.text) != len(first.text) or other.text == first.text:
            continue
        differ = [i for i, (a, b) in enumerate(zip(first.text, other.text, strict=True))
                  if a != b and (first.char_confidence[i] < sure
                                 or outvoted(first, others, i, b))]
        if len(differ) > MAX_MIXED:
            continue
        for picks in itertools.product((0, 1), repeat=len(differ)):
            chars = list(first.text)
            for i, pick in zip(differ, picks, strict=True):
                chars[i] = (first.text, other.text)[pick][i]
            mixed = "".join(chars)
            if mixed not in out:
                out.append(mixed)
    return out


def combine(opinions: list[Opinion], chosen: str) -> tuple[float, ...]:
    """Per-character confidence of `chosen`: the mean over all opinions of the
    confidence of those that read that character there, an opinion that read something
    else counting 0. The opinions look at the same pixels, so agreeing certainty is not
    multiplied as if independent; one dissent of two caps a character at one half."""
    out = []
    for i, char in enumerate(chosen):
        total = 0.0
        for o in opinions:
            if len(o.text) == len(chosen) and o.text[i] == char:
                total += o.char_confidence[i]
        out.append(round(total / len(opinions), 4))
    return tuple(out)


def agree(opinions: list[Opinion], score: Callable[[str], float],
          valid: Callable[[str], bool], sure: float) -> Agreed:
    """The text the recognisers together find likeliest (`score`: the sum of their CTC
    log-likelihoods of a text over every view) among those the plate grammar allows,
    changed only where the reading under check (the first opinion) was less than
    `sure` or was outvoted (candidates), and its per-character confidence; a character
    changed against a sure first reading is at most OUTVOTED_CAP."""
    first = opinions[0]
    texts = [t for t in candidates(first, opinions[1:], sure) if valid(t)] or [first.text]
    chosen = max(texts, key=score) if len(texts) > 1 else texts[0]
    confidence = combine(opinions, chosen)
    if len(chosen) == len(first.text):
        confidence = tuple(min(c, OUTVOTED_CAP) if chosen[i] != first.text[i]
                           and first.char_confidence[i] >= sure else c
                           for i, c in enumerate(confidence))
    return Agreed(chosen, confidence, all(o.text == chosen for o in opinions))
