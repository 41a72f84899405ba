"""Reading a plate out of the recogniser's per-frame probabilities, under the plate
grammar (DOMAIN §7).

The recogniser gives, for each horizontal slice of the crop, a probability for every
one of its 6,600 characters. A free decoder takes the likeliest character per slice;
it happily reads a province as a look-alike (皖 as 淮) or drops it. Here each plate
format is a sequence of character sets — a province, then a letter, then five
letters or digits… — and a Viterbi pass over the CTC alignment finds, for each
format, the likeliest plate that fits it. The best-scoring format wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rules.plates import DIGITS, LETTERS, PROVINCES

ALNUM = LETTERS + DIGITS
NEG = -1e9


@dataclass(frozen=True)
class Template:
    kind: str
    sets: tuple[str, ...]  # allowed characters per position


TEMPLATES: tuple[Template, ...] = (
    Template("ordinary", (PROVINCES, LETTERS, *([ALNUM] * 5))),
    Template("nev_small", (PROVINCES, LETTERS, "DF", ALNUM, *([DIGITS] * 4))),
    Template("nev_large", (PROVINCES, LETTERS, *([DIGITS] * 5), "DF")),
    Template("trailer", (PROVINCES, LETTERS, *([ALNUM] * 4), "挂")),
    Template("coach", (PROVINCES, LETTERS, *([ALNUM] * 4), "学")),
    Template("police", (PROVINCES, LETTERS, *([ALNUM] * 4), "警")),
    Template("emergency", (PROVINCES, "XS", *([DIGITS] * 4), "应", "急")),
)
# Rows of a double-row plate (trucks' rear plates, trailers).
TOP_ROW = Template("top", (PROVINCES, LETTERS))
BOTTOM_ROWS = (
    Template("bottom", tuple([ALNUM] * 5)),
    Template("bottom_trailer", (*([ALNUM] * 4), "挂")),
    Template("bottom_coach", (*([ALNUM] * 4), "学")),
)


@dataclass(frozen=True)
class Decoded:
    text: str
    kind: str
    score: float  # log-probability of the best alignment
    char_confidence: tuple[float, ...]

    @property
    def confidence(self) -> float:
        return min(self.char_confidence) if self.char_confidence else 0.0


class Alphabet:
    """Index lookup of template characters in the recogniser's charset."""

    def __init__(self, charset: list[str]) -> None:
        self.index = {c: i for i, c in enumerate(charset)}
        self._sets: dict[str, np.ndarray] = {}

    def ids(self, chars: str) -> np.ndarray:
        if chars not in self._sets:
            self._sets[chars] = np.array([self.index[c] for c in chars if c in self.index],
                                         dtype=np.int64)
        return self._sets[chars]


# Marks between a plate's characters, never characters of it: the dot after the
# issuing-office letter (皖A·F06789), bolts and gaps. A general recogniser reads them
# as characters, and a frame spent on one was taken from the plate's own characters
# by the grammar's search (the 0 of F06789 went to the dot); as blank they cost nothing.
SEPARATORS = "·•‧.-_ \u3000"


def separator_ids(charset: list[str]) -> np.ndarray:
    return np.array([i for i, c in enumerate(charset) if i and c in SEPARATORS], np.int64)


def fold_separators(probs: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """`probs` (frames × charset) with each separator's probability moved to the blank,
    in place."""
    if ids.size:
        probs[:, 0] += probs[:, ids].sum(axis=1)
        probs[:, ids] = 0.0
    return probs


def greedy(probs: np.ndarray, charset: list[str]) -> str:
    best = probs.argmax(axis=1)
    out, last = [], 0
    for i in best:
        if i != last and i != 0:
            out.append(charset[i])
        last = i
    return "".join(out)


def _contenders(sub: np.ndarray, allowed: np.ndarray, keep: int) -> np.ndarray:
    """The characters of a position's set that could be read there: those among the
    `keep` most likely of the set in some frame. (The `keep` with the highest peak
    over the whole plate are not enough: a plate has seven characters, and the
    weakest of seven letters and digits was never a candidate for any position.) At
    most twice `keep`, those with the highest peaks: frames of noise, not of a plate,
    favour everything, and the search's cost grows with its candidates."""
    found = np.unique(np.argsort(sub, axis=1)[:, -keep:])
    if len(found) > 2 * keep:
        found = found[np.argsort(sub[:, found].max(axis=0))[::-1][: 2 * keep]]
    return allowed[found]


def decode(probs: np.ndarray, template: Template, alphabet: Alphabet, charset: list[str],
           *, keep: int = 6) -> Decoded | None:
    """The likeliest reading of `probs` (T × C softmax) that fits `template`.

    States: B[k] = k characters read, now in a blank; C[k][c] = reading character k as
    candidate c. CTC rules: a state may repeat; a blank may follow a character; the
    next position may follow a character directly unless it is the same character.
    Each position considers only the characters of its set that are among the `keep`
    likeliest in some frame (_contenders): one no frame favours cannot win, and the
    search stays small.
    """
    T, K = probs.shape[0], len(template.sets)
    if T < K:
        return None
    logp = np.log(np.maximum(probs, 1e-12))
    ids: list[np.ndarray] = []
    for chars in template.sets:
        allowed = alphabet.ids(chars)
        if len(allowed) == 0:
            return None
        if len(allowed) > keep:
            allowed = _contenders(probs[:, allowed], allowed, keep)
        ids.append(allowed)
    emit = [logp[:, i].tolist() for i in ids]  # emit[k][t][c]
    blank = logp[:, 0].tolist()
    char_id = [i.tolist() for i in ids]
    B = [NEG] * (K + 1)
    B[0] = blank[0]
    C = [[NEG] * len(i) for i in char_id]
    C[0] = list(emit[0][0])
    back_b: list[list[tuple[int, int]]] = []  # per t: per k (type, prev candidate)
    back_c: list[list[list[tuple[int, int]]]] = []
    for t in range(1, T):
        bb = [(0, 0)] * (K + 1)
        bc: list[list[tuple[int, int]]] = []
        newB = [NEG] * (K + 1)
        newB[0] = B[0] + blank[t]
        best_prev = []  # per k: (best score, best idx, second score, second idx) of C[k]
        for k in range(K):
            row = C[k]
            i1 = max(range(len(row)), key=row.__getitem__)
            s1 = row[i1]
            s2, i2 = NEG, i1
            for j, v in enumerate(row):
                if j != i1 and v > s2:
                    s2, i2 = v, j
            best_prev.append((s1, i1, s2, i2))
        for k in range(1, K + 1):
            s1, i1, _, _ = best_prev[k - 1]
            if s1 > B[k]:
                newB[k] = s1 + blank[t]
                bb[k] = (1, i1)
            else:
                newB[k] = B[k] + blank[t]
        newC = []
        for k in range(K):
            row_emit = emit[k][t]
            stay_row = C[k]
            from_blank = B[k]
            ptrs = []
            out = []
            if k > 0:
                s1, i1, s2, i2 = best_prev[k - 1]
                prev_char = char_id[k - 1][i1]
            for j, cid in enumerate(char_id[k]):
                best, how, prev = stay_row[j], 0, 0
                if from_blank > best:
                    best, how = from_blank, 1
                if k > 0:
                    cand, idx = (s2, i2) if cid == prev_char else (s1, i1)
                    if cand > best:
                        best, how, prev = cand, 2, idx
                out.append(best + row_emit[j])
                ptrs.append((how, prev))
            newC.append(out)
            bc.append(ptrs)
        back_b.append(bb)
        back_c.append(bc)
        B, C = newB, newC
    last = C[K - 1]
    end_char = max(range(len(last)), key=last.__getitem__)
    if last[end_char] >= B[K]:
        score, state = last[end_char], ("C", K - 1, end_char)
    else:
        score, state = B[K], ("B", K, 0)
    if score <= NEG / 2:
        return None
    frames: list[list[int]] = [[] for _ in range(K)]
    picked = [-1] * K
    for t in range(T - 1, -1, -1):
        kind, k, c = state
        if kind == "C":
            frames[k].append(t)
            picked[k] = c
            if t == 0:
                break
            how, prev = back_c[t - 1][k][c]
            if how == 1:
                state = ("B", k, 0)
            elif how == 2:
                state = ("C", k - 1, prev)
        else:
            if t == 0:
                break
            how, prev = back_b[t - 1][k]
            if how == 1:
                state = ("C", k - 1, prev)
    if any(c < 0 for c in picked):
        return None
    text = "".join(charset[char_id[k][picked[k]]] for k in range(K))
    # A character's confidence: its share of the probability the frames give to the
    # characters the format allows there — how sure the reading is, given a plate.
    confs = []
    for k in range(K):
        allowed = alphabet.ids(template.sets[k])
        rows = probs[np.array(frames[k])][:, allowed]
        mine = probs[np.array(frames[k]), char_id[k][picked[k]]]
        confs.append(float((mine / np.maximum(rows.sum(axis=1), 1e-12)).max()))
    return Decoded(text, template.kind, float(score), tuple(confs))


# Which formats each plate colour comes in (DOMAIN §7); others are unlikely, not impossible
# (the colour guess can be wrong), so they pay a penalty in log-probability.
COLOUR_FORMATS = {
    "blue": {"ordinary"},
    "yellow": {"ordinary", "trailer", "coach"},
    "green": {"nev_small"},
    "yellow_green": {"nev_large"},
    "white": {"police", "emergency"},
}
COLOUR_PENALTY = 4.0


def colour_prior(colour: str | None) -> dict[str, float]:
    formats = COLOUR_FORMATS.get(colour or "")
    if not formats:
        return {}
    return {t.kind: 0.0 if t.kind in formats else -COLOUR_PENALTY for t in TEMPLATES}


def compress(probs: np.ndarray, certain: float = 0.995) -> np.ndarray:
    """Drop frames that are almost surely blank, keeping one between two characters
    (CTC needs it to tell "55" from "5"). The search then runs over the frames that
    carry characters: about a third of them on a plate."""
    blank_sure = probs[:, 0] >= certain
    keep = ~blank_sure
    # Keep the first blank after each run of character frames.
    keep[1:] |= blank_sure[1:] & ~blank_sure[:-1]
    if keep.sum() < 2:
        return probs
    return probs[keep]


def best_reading(probs: np.ndarray, templates: tuple[Template, ...], alphabet: Alphabet,
                 charset: list[str], prior: dict[str, float] | None = None) -> Decoded | None:
    prior = prior or {}
    probs = compress(probs)
    # Formats the colour allows first; the others only if none of those reads well.
    likely = [t for t in templates if prior.get(t.kind, 0.0) == 0.0]
    readings = [d for d in (decode(probs, t, alphabet, charset) for t in likely) if d]
    if len(likely) < len(templates) and (not readings or max(d.score for d in readings) < -6):
        readings += [d for d in (decode(probs, t, alphabet, charset)
                                 for t in templates if t not in likely) if d]
    if not readings:
        return None
    return max(readings, key=lambda d: d.score + prior.get(d.kind, 0.0))
