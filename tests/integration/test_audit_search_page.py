"""The auditor's search page explains a bad filter in the reader's words and keeps the
form; switching the page's language is not a filter."""

from __future__ import annotations

import pytest

from tests.factories import login, make_world


@pytest.fixture
def auditor(client, session_factory):  # type: ignore[no-untyped-def]
    """A client signed in as the park's auditor."""
    make_world(session_factory)
    login(client, "auditor")
    return client


def test_the_language_switch_is_not_taken_for_a_filter(auditor):  # type: ignore[no-untyped-def]
    page = auditor.get("/audit?lang=en&plate=苏A88888")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="filter-error"' not in text and "Plate" in text


def test_a_bad_filter_is_named_by_its_label_and_the_form_stays(auditor):  # type: ignore[no-untyped-def]
    reversed_range = auditor.get("/audit?since=2026-12-07T10:00&until=2026-12-07T09:00")
    assert reversed_range.status_code == 400
    text = reversed_range.get_data(as_text=True)
    assert "时间范围的结束早于开始。" in text and 'id="audit-filters"' in text
    assert 'value="2026-12-07T10:00"' in text  # what was typed is still there
    not_a_code = auditor.get("/audit?reason=证件过期").get_data(as_text=True)
    assert "请检查筛选条件： 原因代码" in not_a_code and 'id="audit-filters"' in not_a_code
