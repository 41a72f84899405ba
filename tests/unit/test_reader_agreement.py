"""Two recognisers, one reading (camera_adapters.agreement): the CTC likelihood a text
is scored by, which texts are tried, and how sure the pair is of the one chosen."""

from __future__ import annotations

import itertools
import math

import numpy as np

from camera_adapters.agreement import Opinion, agree, candidates, combine, log_likelihood


def _brute_force(probs: np.ndarray, ids: list[int]) -> float:
    """Sum over every frame path that collapses (merge repeats, drop blanks) to ids."""
    total = 0.0
    T, C = probs.shape
    for path in itertools.product(range(C), repeat=T):
        collapsed, last = [], -1
        for c in path:
            if c != last and c != 0:
                collapsed.append(c)
            last = c
        if collapsed == ids:
            total += float(np.prod([probs[t, c] for t, c in enumerate(path)]))
    return math.log(total)


def test_the_likelihood_sums_every_alignment_of_the_text() -> None:
    rng = np.random.default_rng(4)
    probs = rng.random((5, 3))
    probs /= probs.sum(axis=1, keepdims=True)
    for ids in ([1], [1, 2], [2, 2], [1, 2, 1]):
        assert math.isclose(log_likelihood(probs, ids), _brute_force(probs, ids), rel_tol=1e-9)


def test_a_doubled_character_needs_a_blank_between() -> None:
    # Two frames of "1" and nothing else: "1" is likely, "11" impossible.
    probs = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    assert log_likelihood(probs, [1]) > -1e-6
    assert log_likelihood(probs, [1, 1]) < -20


def _said(text: str, recogniser: str, sure: float = 0.99) -> Opinion:
    return Opinion(text, (sure,) * len(text), recogniser)


def test_the_checker_may_change_only_what_the_first_reading_was_unsure_of() -> None:
    first = Opinion("皖A12345", (0.6,) + (0.99,) * 5 + (0.7,), "ppocr")
    tried = candidates(first, [_said("豫A12346", "checker")], 0.9)
    assert tried[0] == "皖A12345"
    assert sorted(tried[1:]) == sorted(["豫A12345", "皖A12346", "豫A12346"])
    # A sure character is never overruled; a reading of another length is no candidate.
    sure = _said("皖A12345", "ppocr")
    assert candidates(sure, [_said("豫A12346", "checker"), _said("皖AF06789", "checker")],
                      0.9) == ["皖A12345"]


def test_a_sure_character_is_overruled_only_when_two_recognisers_of_three_say_so() -> None:
    """PP-OCR sure of 豫 where the checker and the third recogniser both read 琼."""
    sure = _said("豫ATH276", "ppocr")
    both = [_said("琼ATH276", "checker"), _said("琼ATH276", "third")]
    assert candidates(sure, both, 0.9) == ["豫ATH276", "琼ATH276"]
    # One recogniser is one voice, however many views it read and whatever the others
    # failed to read (an empty reading is no vote for the first).
    one = [_said("琼ATH276", "checker")] * 3 + [_said("", "third")] * 3
    assert candidates(sure, one, 0.9) == ["豫ATH276"]
    # Two dissenters who disagree with each other do not outvote it either.
    split = [_said("琼ATH276", "checker"), _said("皖ATH276", "third")]
    assert candidates(sure, split, 0.9) == ["豫ATH276"]
    # A recogniser counts by what most of its views read: the third's one view of 琼
    # against two of 豫 sides with PP-OCR.
    third_mostly_first = [_said("琼ATH276", "checker"), _said("琼ATH276", "third"),
                          _said("豫ATH276", "third"), _said("豫ATH276", "third")]
    assert candidates(sure, third_mostly_first, 0.9) == ["豫ATH276"]


def test_an_outvoted_reading_is_chosen_but_never_sure_however_many_views_agree() -> None:
    """Nine readings (three recognisers, three views), eight of them 琼 at 0.99: the mean
    would say 0.88; a character changed against a sure first reading says at most 0.5."""
    first = _said("豫ATH276", "ppocr", 0.97)
    others = [_said("琼ATH276", "ppocr"), _said("琼ATH276", "ppocr")] + \
        [_said("琼ATH276", r) for r in ("checker", "third") for _ in range(3)]
    agreed = agree([first, *others], lambda t: 1.0 if t[0] == "琼" else 0.0,
                   lambda t: True, 0.9)
    assert agreed.text == "琼ATH276" and not agreed.agreed
    assert agreed.char_confidence[0] <= 0.5 and agreed.confidence < 0.85
    assert min(agreed.char_confidence[1:]) > 0.9  # what all read stays sure


def test_one_dissent_of_two_caps_a_character_at_one_half() -> None:
    first = Opinion("皖A12345", (0.99,) * 7)
    second = Opinion("豫A12345", (0.98,) * 7)
    confidence = combine([first, second], "皖A12345")
    assert confidence[0] <= 0.5
    assert confidence[1:] == (0.985,) * 6
    # A reading of another length dissents everywhere.
    assert max(combine([first, Opinion("皖AF06789", (1.0,) * 8)], "皖A12345")) <= 0.5


def test_agreeing_but_unsure_stays_unsure() -> None:
    """Two recognisers equally unsure of the same character do not add up to a sure one:
    they look at the same smudge."""
    both = [Opinion("皖A1234B", (0.99,) * 6 + (0.55,)), Opinion("皖A1234B", (0.99,) * 6 + (0.6,))]
    result = agree(both, lambda text: 0.0, lambda text: True, 0.9)
    assert result.agreed and result.confidence < 0.85


def test_the_likeliest_valid_text_wins_and_the_read_stays_unsure() -> None:
    first = Opinion("豫ATH276", (0.73,) + (1.0,) * 6)
    second = Opinion("琼ATH276", (0.97,) + (0.99,) * 6)
    scores = {"豫ATH276": -9.0, "琼ATH276": -3.0}
    result = agree([first, second], lambda t: scores.get(t, -99.0), lambda t: True, 0.9)
    assert result.text == "琼ATH276" and not result.agreed and result.confidence <= 0.5
    # A text the plate grammar refuses is never chosen, however likely.
    result = agree([first, second], lambda t: scores.get(t, -99.0), lambda t: t[0] != "琼",
                   0.9)
    assert result.text == "豫ATH276" and result.confidence <= 0.5
    # Sure of its province, the first reading keeps it, but not its confidence.
    sure = Opinion("豫ATH276", (0.95,) + (1.0,) * 6)
    result = agree([sure, second], lambda t: scores.get(t, -99.0), lambda t: True, 0.9)
    assert result.text == "豫ATH276" and result.confidence <= 0.5


def test_after_a_second_look_one_dissenting_view_still_keeps_the_read_unsure() -> None:
    """Three views, two recognisers each: five sure opinions and one dissent are not
    enough for the default lane threshold (0.85)."""
    sure = Opinion("皖A12345", (1.0,) * 7)
    dissent = Opinion("豫A12345", (1.0,) * 7)
    assert combine([sure] * 5 + [dissent], "皖A12345")[0] < 0.85
    assert combine([sure] * 6, "皖A12345")[0] == 1.0
