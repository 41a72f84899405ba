"""A message never quotes a long input in full."""

from kernel.errors import ECHO_MAX, ValidationFailed


def test_a_long_parameter_is_cut_in_the_message() -> None:
    error = ValidationFailed("%(plate)s is not a valid plate.", params={"plate": "苏" * 5000,
                                                                         "n": 7})
    assert len(error.params["plate"]) == ECHO_MAX and error.params["plate"].endswith("…")
    assert error.params["n"] == 7
    assert len(str(error)) < 100
