"""The records admin pages in a real browser."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import sign_in, sign_in_as_another, submit
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
    page.check("#f-permit_scope input[value='3']")
    page.check("#f-permit_scope input[value='8']")
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


@pytest.mark.browser
def test_the_person_form_speaks_chinese_and_keeps_what_was_typed(page, live_server,
                                                                 session_factory, artifacts):
    world = make_world(session_factory)
    sign_in(page, live_server.url, "logistics_e1", PASSWORD)
    page.goto(f"{live_server.url}/records/persons/new")
    form = page.locator("#record-form")
    # Kinds are ticked from translated choices; the employer is chosen by name.
    kinds = page.locator("#f-kinds")
    assert "驾驶员" in kinds.inner_text() and "押运员" in kinds.inner_text()
    assert "driver" not in kinds.inner_text()
    employer = page.locator("#f-enterprise_id option").all_inner_texts()
    assert any("E1" in name or "企业" in name for name in employer if name != "—")
    labels = [t.strip(" *") for t in form.locator("label[for], legend").all_inner_texts()]
    assert len(labels) == len(set(labels)), labels  # no field named twice
    page.screenshot(path=str(artifacts / "person-form.zh-CN.png"), full_page=True)

    page.fill("#f-name", "赵押运")
    page.fill("#f-national_id", "32010219900101001X")  # a wrong check digit
    page.check("#f-kinds input[value=escort]")
    page.select_option("#f-enterprise_id", str(world.enterprises["E1"].id))
    submit(page, "#save")
    error = page.locator("[data-field=national_id] .field-error").inner_text()
    assert error and not any(c.isascii() and c.isalpha() for c in error), error  # in Chinese
    assert page.locator("#f-national_id").input_value() == "32010219900101001X"  # kept
    assert page.locator("#f-kinds input[value=escort]").is_checked()

    # A value pydantic refuses is explained in Chinese too.
    sign_in_as_another(page, live_server.url, "admin", PASSWORD)
    page.goto(f"{live_server.url}/records/vehicles/new")
    page.fill("#f-plate", "苏E66666")
    page.select_option("#f-kind", "tractor")
    page.select_option("#f-category", "hazmat")
    page.fill("#f-rated_load_kg", "9999999")
    submit(page, "#save")
    message = page.locator("[data-field=rated_load_kg] .field-error").inner_text()
    assert "不得大于" in message and "Input should" not in page.content()

    # Lists name kinds in words.
    page.goto(f"{live_server.url}/records/persons")
    assert "驾驶员" in page.locator("#records").inner_text()
    assert "driver" not in page.locator("#records").inner_text()


@pytest.mark.browser
def test_an_enterprise_with_a_material_scope_saves_as_it_was_shown(page, live_server,
                                                                   session_factory):
    from tests.factories import allow_petrol_and_corrosives

    world = allow_petrol_and_corrosives(session_factory, make_world(session_factory))
    sign_in(page, live_server.url, "admin", PASSWORD)
    page.goto(f"{live_server.url}/records/enterprises/{world.enterprises['E1'].id}")
    shown = page.locator("#f-material_scope").input_value()
    assert "UN1203" in shown
    page.fill("#f-name", "一号化工")
    submit(page, "#save")  # the scope goes back as the page showed it
    assert "已保存" in page.content()
    assert page.locator("#f-name").input_value() == "一号化工"
    assert page.locator("#f-material_scope").input_value() == shown
    page.fill("#f-material_scope", "1")
    submit(page, "#save")  # not a list: a field error, and what was typed stays
    errors = page.locator('[data-field="material_scope"] .field-error').all_inner_texts()
    assert errors == ["请填写列表。"]
    assert page.locator("#f-material_scope").input_value() == "1"
