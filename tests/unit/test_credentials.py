"""What a person on foot shows at the booth: an ID number or a certificate number."""

from __future__ import annotations

import pytest

from rules.identity import credential_problem
from tests.factories import national_id


@pytest.mark.parametrize("text", [national_id(7), national_id(7).lower(), " " + national_id(8),
                                  "CERT000001", "JS1234567890", "苏交运危320600001",
                                  "ZJ-2024-000123"])
def test_an_id_or_certificate_number_passes(text):
    assert credential_problem(text) is None


@pytest.mark.parametrize(("text", "code"), [
    ("123", "CREDENTIAL_TOO_SHORT"),
    ("A1", "CREDENTIAL_TOO_SHORT"),
    ("", "CREDENTIAL_TOO_SHORT"),
    (national_id(7)[:-1] + ("1" if national_id(7)[-1] != "1" else "2"), "ID_CHECKSUM"),
    (national_id(7)[:17], "ID_FORMAT"),  # a digit short
    ("320102199013451234", "ID_BIRTH_DATE"),  # month 13
    ("320102900101123", "ID_FORMAT"),  # the old 15-digit form: a card no longer valid
    ("<img src=x>", "CREDENTIAL_MALFORMED"),
    ("A" * 200, "CREDENTIAL_MALFORMED"),
    ("CERT;DROP", "CREDENTIAL_MALFORMED"),
])
def test_a_typo_or_a_stub_is_named(text, code):
    assert credential_problem(text) == code
