"""The spreadsheet-cell rule every CSV export applies (parkgate.cells)."""

import pytest

from parkgate.cells import csv_cell, csv_cells, csv_value

RISKY = ["=1+2", "+1", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\tx", "\rx", "'already"]
PLAIN = ["", "苏E12345", "gate.decision", "2026-12-07T03:00:00+00:00", "\\N", "a=b", "1-2"]


@pytest.mark.parametrize("text", RISKY)
def test_a_cell_a_spreadsheet_would_run_gets_a_quote_that_comes_off_again(text):
    cell = csv_cell(text)
    assert cell == "'" + text
    assert csv_value(cell) == text


@pytest.mark.parametrize("text", PLAIN)
def test_plain_text_is_written_as_it_is(text):
    assert csv_cell(text) == text
    assert csv_value(csv_cell(text)) == text


def test_a_row_is_neutralised_cell_by_cell():
    row = RISKY + PLAIN
    assert csv_cells(row) == [csv_cell(t) for t in row]
