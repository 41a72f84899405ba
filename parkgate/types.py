"""Bounded types for API inputs: a number the database cannot hold, or a date so far
off that shifting it by a time zone or a day overflows, is a 422, never an overflow
inside the driver or the date arithmetic."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, TypeVar

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

MAX_ID = 2_147_483_647  # record ids are 32-bit in the schema (the URL converter agrees)
MAX_SEQ = 9_223_372_036_854_775_807  # chain positions are 64-bit

RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]
ChainPosition = Annotated[int, Field(ge=1, le=MAX_SEQ)]

# Any date a park's records name (a licence issued decades ago, a pass valid for years).
FIRST_YEAR, LAST_YEAR = 1900, 2199
_D = TypeVar("_D", date, datetime)


def within_years(value: _D) -> _D:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise PydanticCustomError("date_out_of_range", "a date between {first} and {last}",
                                  {"first": FIRST_YEAR, "last": LAST_YEAR})
    return value


ParkDate = Annotated[date, AfterValidator(within_years)]
ParkDateTime = Annotated[datetime, AfterValidator(within_years)]
