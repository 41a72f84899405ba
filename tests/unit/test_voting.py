"""Voting across frames: one read per vehicle, per-character weighted vote, early
emission when sure, honest confidence, one track per vehicle and lane."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from camera_adapters.voting import Observation, PlateVoter, VotingPolicy, similarity, vote

T0 = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


def obs(plate: str, ms: int, confidence: float = 0.8, lane: str = "P1-IN",
        chars: tuple[float, ...] = (), colour: str | None = "yellow") -> Observation:
    return Observation(lane=lane, plate=plate, confidence=confidence,
                       seen_at=T0 + timedelta(milliseconds=ms), char_confidence=chars,
                       colour=colour)


def test_each_position_goes_to_the_heaviest_character() -> None:
    result = vote([obs("苏E12345", 0), obs("苏E12845", 40), obs("苏E12345", 80),
                   obs("皖E12345", 120, confidence=0.3)])
    assert result.plate == "苏E12345"
    assert result.frames == 4 and result.agreeing == 2


def test_character_confidence_outweighs_frame_count() -> None:
    # Two blurred frames read 8 in position 5 with low certainty there; one sharp frame
    # reads 3 with high certainty.
    blurred = (0.99, 0.99, 0.99, 0.99, 0.2, 0.99, 0.99)
    sharp = (0.99,) * 7
    result = vote([obs("苏E12845", 0, chars=blurred), obs("苏E12845", 40, chars=blurred),
                   obs("苏E12345", 80, chars=sharp)])
    assert result.plate == "苏E12345"


def test_disagreement_lowers_the_confidence() -> None:
    agreed = vote([obs("苏E12345", i * 40, confidence=0.95) for i in range(4)])
    split = vote([obs("苏E12345", 0, confidence=0.95), obs("苏E12845", 40, confidence=0.95)])
    assert agreed.confidence > 0.9
    assert split.confidence <= 0.5


def test_the_length_most_frames_agree_on_wins() -> None:
    # A frame that missed the province character does not shorten the plate.
    result = vote([obs("苏E12345", 0), obs("E12345", 40), obs("苏E12345", 80)])
    assert result.plate == "苏E12345"


def test_similarity_tolerates_one_lost_or_misread_character() -> None:
    assert similarity("苏E12345", "苏E12345") == 1.0
    assert similarity("苏E12345", "E12345") > 0.8
    assert similarity("苏E12345", "苏E12845") > 0.8
    assert similarity("苏E12345", "浙B98765") < 0.3


def test_emits_early_once_enough_frames_agree_and_only_once() -> None:
    voter = PlateVoter(VotingPolicy(early_frames=3, early_confidence=0.9))
    assert voter.add(obs("苏E12345", 0, confidence=0.97)) == []
    assert voter.add(obs("苏E12345", 40, confidence=0.97)) == []
    out = voter.add(obs("苏E12345", 80, confidence=0.97))
    assert [r.plate for r in out] == ["苏E12345"]
    assert out[0].seen_at == T0 and out[0].colour == "yellow"
    assert voter.add(obs("苏E12345", 120, confidence=0.97)) == []
    assert voter.flush(T0 + timedelta(seconds=5)) == []  # already sent


def test_an_unsure_vehicle_is_emitted_when_it_has_gone() -> None:
    voter = PlateVoter(VotingPolicy(gap_s=1.5))
    voter.add(obs("苏E12345", 0, confidence=0.6))
    voter.add(obs("苏E12845", 40, confidence=0.6))
    voter.add(obs("苏E12345", 80, confidence=0.6))
    assert voter.flush(T0 + timedelta(milliseconds=1000)) == []  # still in view
    out = voter.flush(T0 + timedelta(milliseconds=1600))
    assert [r.plate for r in out] == ["苏E12345"]
    assert out[0].confidence < 0.6  # the gate will ask a person, not trust it


def test_two_vehicles_on_one_lane_and_one_on_another_are_three_reads() -> None:
    voter = PlateVoter(VotingPolicy(early_frames=99))
    voter.add(obs("苏E12345", 0))
    voter.add(obs("浙B98765", 10))
    voter.add(obs("苏E12345", 20, lane="P1-OUT"))
    voter.add(obs("苏E12345", 40))
    voter.add(obs("浙B98765", 50))
    out = voter.flush(T0 + timedelta(seconds=3))
    assert sorted((r.lane, r.plate) for r in out) == [
        ("P1-IN", "浙B98765"), ("P1-IN", "苏E12345"), ("P1-OUT", "苏E12345")]


def test_a_vehicle_waiting_at_the_barrier_is_not_read_again() -> None:
    voter = PlateVoter(VotingPolicy(gap_s=1.0, max_track_s=2.0, repeat_s=20.0))
    emitted = []
    for i in range(100):  # 10 s of frames, 10 per second
        emitted += voter.add(obs("苏E12345", i * 100, confidence=0.97))
    emitted += voter.flush(T0 + timedelta(seconds=15))
    assert [r.plate for r in emitted] == ["苏E12345"]
    # Twenty seconds after it left, the same plate is a new visit.
    emitted = voter.add(obs("苏E12345", 40_000, confidence=0.97))
    emitted += voter.flush(T0 + timedelta(seconds=45))
    assert [r.plate for r in emitted] == ["苏E12345"]


def test_the_crop_comes_from_the_most_confident_agreeing_frame() -> None:
    voter = PlateVoter(VotingPolicy(early_frames=99))
    frames = [Observation("P1-IN", "苏E12345", c, T0 + timedelta(milliseconds=i * 40),
                          crop_jpeg=name) for i, (c, name) in
              enumerate([(0.7, b"a"), (0.95, b"b"), (0.8, b"c")])]
    for f in frames:
        voter.add(f)
    (read,) = voter.flush(T0 + timedelta(seconds=5))
    assert read.crop_jpeg == b"b"
