"""Plate formats of DOMAIN §7: every kind, its colours, normalisation, rejects, and
the only confusions a machine read may have fixed (O/0, I/1 where a letter is
impossible)."""

from __future__ import annotations

import pytest

from rules.plates import PlateKind, normalise, repair, validate


@pytest.mark.parametrize(("text", "colour", "kind"), [
    ("苏E12345", "blue", PlateKind.ORDINARY),
    ("苏EA12B5", "yellow", PlateKind.ORDINARY),
    ("苏E1234挂", "yellow", PlateKind.TRAILER),
    ("苏E1234学", "yellow", PlateKind.COACH),
    ("苏E1234警", "white", PlateKind.POLICE),
    ("粤Z1234港", "black", PlateKind.HK_MACAO),
    ("粤Z1234澳", "black", PlateKind.HK_MACAO),
    ("沪A1234领", "black", PlateKind.CONSULATE),
    ("使123456", "black", PlateKind.EMBASSY),
    ("苏X1234应急", "white", PlateKind.EMERGENCY),
    ("苏EDA1234", "green", PlateKind.NEV_SMALL),
    ("苏EFB1234", "green", PlateKind.NEV_SMALL),
    ("苏E12345D", "yellow_green", PlateKind.NEV_LARGE),
    ("琼A12345", "blue", PlateKind.ORDINARY),
])
def test_every_kind_in_its_colour_is_valid(text: str, colour: str, kind: PlateKind) -> None:
    check = validate(text, colour)
    assert check.valid, check.problems
    assert check.kind == kind and check.problems == []


@pytest.mark.parametrize(("text", "colour"), [
    ("苏E1234挂", "blue"),  # trailers are yellow
    ("苏EDA1234", "blue"),  # small new-energy plates are green
    ("苏E12345D", "green"),  # large ones yellow-green
    ("苏X1234应急", "blue"),
    ("苏E12345", "green"),
])
def test_a_format_in_the_wrong_colour_is_rejected(text: str, colour: str) -> None:
    check = validate(text, colour)
    assert not check.valid and "PLATE_COLOUR_MISMATCH" in check.problems


@pytest.mark.parametrize(("text", "problem"), [
    ("", "PLATE_EMPTY"),
    ("哈A12345", "PLATE_BAD_PROVINCE"),
    ("苏I12345", "PLATE_HAS_I_OR_O"),  # no I or O, ever
    ("苏E1234", "PLATE_FORMAT"),  # too short
    ("苏E1234567", "PLATE_FORMAT"),  # too long
    ("苏1E2345", "PLATE_FORMAT"),  # the second character is a letter
    ("苏E1234港", "PLATE_FORMAT"),  # 港 only on 粤Z
    ("ABCDEFG", "PLATE_BAD_PROVINCE"),
])
def test_rejects_say_why(text: str, problem: str) -> None:
    check = validate(text)
    assert not check.valid and problem in check.problems


def test_normalisation_strips_separators_widths_and_case() -> None:
    assert normalise(" 苏e·12345 ") == "苏E12345"
    assert normalise("苏Ｅ－１２３４５") == "苏E12345"  # full-width forms (NFKC)
    assert validate("苏e 1234挂").text == "苏E1234挂"


def test_lenient_new_energy_letters_are_accepted_but_flagged() -> None:
    check = validate("苏EAB1234", "green")
    assert check.valid and check.lenient and "PLATE_NEV_LETTER_UNVERIFIED" in check.problems


def test_o_and_i_after_the_authority_letter_are_read_as_digits() -> None:
    assert repair("苏E1234O") == "苏E12340"
    assert repair("苏EI2345") == "苏E12345"
    check = validate("苏E1234O", "blue", fix_confusions=True)
    assert check.valid and check.text == "苏E12340" and "PLATE_REPAIRED_O_I" in check.problems


def test_ambiguous_confusions_are_not_guessed() -> None:
    # An O in the authority-letter position could be D, Q or 0: left as an error.
    assert repair("苏O12345") is None
    assert not validate("苏O12345", fix_confusions=True).valid
    # A person typing a record is told, not silently corrected.
    assert not validate("苏E1234O").valid
    assert repair("苏E12345") is None  # nothing to repair
