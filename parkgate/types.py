"""Bounded integer types for API inputs: a number the database cannot hold is a 422,
never an overflow inside the driver."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_ID = 2_147_483_647  # record ids are 32-bit in the schema (the URL converter agrees)
MAX_SEQ = 9_223_372_036_854_775_807  # chain positions are 64-bit

RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]
ChainPosition = Annotated[int, Field(ge=1, le=MAX_SEQ)]
