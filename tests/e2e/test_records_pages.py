"""The records admin pages in a real browser."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import sign_in, submit
from tests.factories import PASSWORD, make_world


@pytest.mark.browser
def test_add_a_vehicle_with_an_expired_permit_and_see_it_flagged(page, live_server,
                                                                 session_factory):
    make_world(session_factory)
    sign_in(page, live_server.url, "admin", PASSWORD)
    page.goto(f"{live_server.url}/records/vehicles")
    page.click("#add-record")
    page.fill("#f-plate", "苏e·77777")
    page.select_option("#f-plate_colour", "yellow")
    page.select_option("#f-kind", "tractor")
    page.select_option("#f-category", "hazmat")
    page.fill("#f-road_permit_no", "苏交运危320600777")
    page.fill("#f-permit_scope", "3; 8")
    page.fill("#f-permit_expires_on", "2026-11-01")
    submit(page, "#save")
    assert "已保存" in page.content()
    flag = page.locator('[data-field="permit_expires_on"] [data-flag]')
    assert flag.get_attribute("data-flag") == "expired"
    assert flag.inner_text() == "已过期"
    assert "登记" in page.locator("#history").inner_text()
    page.goto(f"{live_server.url}/records/vehicles?q=77777")
    row = page.locator("#records tbody tr").first
    assert "苏E77777" in row.inner_text()  # normalised
    assert row.locator('[data-flag="expired"]').count() == 1


@pytest.mark.browser
def test_form_shows_field_errors_in_chinese(page, live_server, session_factory):
    make_world(session_factory)
    sign_in(page, live_server.url, "admin", PASSWORD)
    page.goto(f"{live_server.url}/records/vehicles/new")
    page.fill("#f-plate", "苏EO1234")
    page.select_option("#f-plate_colour", "yellow")
    page.select_option("#f-kind", "tractor")
    page.select_option("#f-category", "small")
    submit(page, "#save")
    errors = page.locator('[data-field="plate"] .field-error').all_inner_texts()
    assert any("I 或 O" in e for e in errors), errors
    assert page.locator("#f-plate").input_value() == "苏EO1234"  # what was typed stays


@pytest.mark.browser
def test_import_dry_run_from_the_page(page, live_server, session_factory, tmp_path):
    make_world(session_factory)
    csv_file = tmp_path / "vehicles.csv"
    csv_file.write_text("plate,plate_colour,kind,category\n苏A12121,blue,car,small\n"
                        "BAD,blue,car,small\n", encoding="utf-8")
    sign_in(page, live_server.url, "admin", PASSWORD)
    page.goto(f"{live_server.url}/records/vehicles/import")
    page.set_input_files("input[type=file]", str(csv_file))
    submit(page, "#upload")
    report = page.locator("#import-report").inner_text()
    assert "未保存任何数据" in report
    assert "2" in page.locator("#import-report tbody tr").first.inner_text()
