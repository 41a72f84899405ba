"""Booking in a real browser: from an empty form to BOOKED, every failed check shown at
once, the driver's pass whose QR code reads back as the booking code, and the code
looked up at the booth."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from models import EnterpriseMaterialScope, Trip
from tests.e2e.conftest import sign_in, sign_in_as_another
from tests.factories import PASSWORD, make_world, national_id


@pytest.fixture
def world(session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    with session_factory() as s:
        s.add(EnterpriseMaterialScope(enterprise_id=world.enterprises["E1"].id,
                                      direction="receive", un_number="UN1203", max_qty_kg=30000))
        s.commit()
    return world


def fill_booking(page, world, *, escort: str | None) -> None:  # type: ignore[no-untyped-def]
    # The fields exist before htmx has bound its look-ups to them (it does so once the
    # document has loaded); typing earlier than any person could would go unseen.
    page.wait_for_load_state("load")
    page.select_option("#f-plant", str(world.plants["E1"].id))
    page.fill("#f-vehicle-plate", "苏E12345")
    page.wait_for_selector("#vehicle-info [data-vehicle]")  # what is on record, shown
    assert "苏交运危320600000001" in page.locator("#vehicle-info").inner_text()
    page.fill("#f-trailer-plate", "苏e1234挂")
    page.fill("#f-driver", "CERT000001")
    page.wait_for_selector("#driver-info [data-person]")
    assert "王师傅" in page.locator("#driver-info").inner_text()
    if escort:
        page.fill("#f-escort", escort)
    page.fill("#f-cargo-0-un", "1203")
    page.locator("#f-cargo-0-un").dispatch_event("change")
    page.wait_for_selector("#cargo-0-name [data-un=UN1203]")
    assert "汽油" in page.locator("#cargo-0-name").inner_text()
    page.fill("#f-cargo-0-qty", "20")
    page.select_option("select[name=cargo-0-unit]", "t")
    page.fill("#f-waybill", "WB-E2E-1")


@pytest.mark.browser
def test_from_an_empty_form_to_booked_and_the_pass(page, live_server, session_factory, world):
    sign_in(page, live_server.url, "logistics_e1", PASSWORD)
    page.goto(f"{live_server.url}/bookings")
    page.click("#new-booking")
    fill_booking(page, world, escort=national_id(2))  # the escort by ID number
    page.click("#check")
    page.wait_for_selector("#findings")
    assert page.locator("#findings").get_attribute("data-failures") == "0"
    page.click("#book")
    page.wait_for_selector("#booking-state")
    assert page.locator("#booking-state").get_attribute("data-state") == "BOOKED"
    code = page.locator("#booking-code").inner_text().strip()
    with session_factory() as s:
        trip = s.scalars(select(Trip)).one()
    assert trip.code == code and trip.escort_id == world.persons["escort"].id

    page.click("#pass-link")
    page.wait_for_selector("#pass-qr svg")
    page.wait_for_load_state("load")  # fonts and styles in: the code at its printed size
    image = cv2.imdecode(np.frombuffer(page.locator("#pass-qr").screenshot(), np.uint8),
                         cv2.IMREAD_COLOR)
    decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(image)
    # What a scanner at the booth will type (the size says what was on screen, if not).
    assert decoded == code, f"no code read from a {image.shape[1]}×{image.shape[0]} px shot"


@pytest.mark.browser
def test_every_failed_check_is_shown_at_once(page, live_server, session_factory, world):
    sign_in(page, live_server.url, "logistics_e1", PASSWORD)
    page.goto(f"{live_server.url}/bookings/new")
    fill_booking(page, world, escort=None)
    page.fill("#f-waybill", "")
    page.click("#book")
    page.wait_for_selector("#findings")
    codes = page.locator("#findings [data-code]").evaluate_all(
        "items => items.map(i => i.dataset.code)")
    assert set(codes) == {"ESCORT_MISSING", "WAYBILL_MISSING"}
    text = page.locator("#findings").inner_text()
    assert "G13" in text and "G14" in text and "押运员" in text
    # Counted as they are, in words: no code the reader has to decipher.
    assert page.locator("#findings h2").inner_text().startswith("2 项检查未通过")
    assert "ESCORT_MISSING" not in text and "WAYBILL_MISSING" not in text
    with session_factory() as s:
        assert s.scalars(select(Trip)).first() is None
    # Submitted anyway, it waits for the park.
    page.check("#submit-anyway")
    page.click("#book")
    page.wait_for_selector("#booking-state")
    assert page.locator("#booking-state").get_attribute("data-state") == "PENDING_APPROVAL"


@pytest.mark.browser
def test_the_park_approves_and_the_booth_finds_the_code(page, live_server, session_factory,
                                                        world):
    sign_in(page, live_server.url, "logistics_e1", PASSWORD)
    page.goto(f"{live_server.url}/bookings/new")
    fill_booking(page, world, escort=None)
    page.click("#book")
    # A booking the checks stop says so, and where the way on is.
    refused = page.locator("#not-booked")
    assert "预约未提交" in refused.inner_text()
    assert refused.locator("a").get_attribute("href") == "#submit-anyway"
    page.check("#submit-anyway")
    page.click("#book")
    page.wait_for_selector("#booking-state")
    code = page.locator("#booking-code").inner_text().strip()
    sign_in_as_another(page, live_server.url, "admin", PASSWORD)
    page.goto(f"{live_server.url}/bookings?state=PENDING_APPROVAL")
    page.click(f"text={code}")
    page.fill("#review-reason", "押运员随后补登")
    page.click("#approve")
    page.wait_for_selector("#booking-state[data-state=BOOKED]")
    assert "trip.approve" in page.locator("#timeline").inner_text() or \
        "批准" in page.locator("#timeline").inner_text()
    sign_in_as_another(page, live_server.url, "gate_operator", PASSWORD)
    page.goto(f"{live_server.url}/booth/P1-IN")
    page.fill("#b-code", f"{code[:4].lower()}-{code[4:]}")
    page.click("#booking-submit")
    page.wait_for_selector("#booking-found")
    assert "苏E12345" in page.locator("#booking-found").inner_text()
    # The failed check the park approved past is shown to the operator, not hidden.
    failed = page.locator("#booking-found #findings .reason.deny")
    assert failed.count() >= 1 and "押运" in failed.first.inner_text()
    assert page.locator('#booking-crew [data-role="driver"]').count() == 1
    # The next step: the lane checks the truck the pass names, as a typed plate would.
    with page.expect_navigation():
        page.click("#booking-check button")
    decided = page.locator("#current #current-plate")
    decided.wait_for()  # the booth loads its current passage after the page
    assert decided.inner_text().strip() == "苏E12345"


@pytest.mark.browser
def test_the_form_reports_every_problem_at_once_and_keeps_its_hints(page, live_server,
                                                                    session_factory, world):
    """End before start, an unknown UN number, a negative quantity and a malformed plate
    in one submission: every one is reported at once; the hints stay after "Check"."""
    sign_in(page, live_server.url, "logistics_e1", PASSWORD)
    page.goto(f"{live_server.url}/bookings/new")
    fill_booking(page, world, escort=national_id(2))
    page.fill("#f-start", "2026-11-22T14:00")
    page.fill("#f-end", "2026-11-22T10:00")
    page.fill("#f-cargo-1-un", "9999")
    page.fill("#f-cargo-1-qty", "5")
    page.fill("#f-cargo-2-un", "1830")
    page.fill("#f-cargo-2-qty", "-3")
    page.fill("#f-trailer-plate", "苏E12" + "X" * 300)  # malformed, and long
    page.click("#check")
    page.wait_for_selector("[data-field=end] .field-error")
    errors = {name: page.locator(f"[data-field='{name}'] .field-error").inner_text()
              for name in ("end", "trailer_plate")}
    assert "结束" in errors["end"]
    assert "不是有效的车牌" in errors["trailer_plate"]
    assert "X" * 40 not in " ".join(page.locator(".field-error").all_inner_texts())
    assert "没有此联合国编号的危险货物" in page.locator("[data-row='1']").inner_text()
    assert "数量必须大于零" in page.locator("[data-row='2']").inner_text()
    # The look-ups' hints are still there after the page came back.
    page.wait_for_selector("#vehicle-info [data-vehicle]")
    page.wait_for_selector("#driver-info [data-person]")
    page.wait_for_selector("#cargo-0-name [data-un=UN1203]")


@pytest.mark.browser
def test_a_booking_waiting_for_approval_has_no_usable_pass(page, live_server, session_factory,
                                                          world, artifacts):
    from tests.factories import book

    trip = book(session_factory, world, state="PENDING_APPROVAL")
    sign_in(page, live_server.url, "logistics_e1", PASSWORD)
    page.goto(f"{live_server.url}/bookings/{trip.id}")
    assert page.locator("#pass-link").count() == 0
    assert "待审批" in page.locator("#no-pass").inner_text()
    page.goto(f"{live_server.url}/bookings/{trip.id}/pass")
    assert page.locator("#driver-pass").get_attribute("data-usable") == "no"
    assert page.locator("#pass-qr").count() == 0
    assert "尚未审批" in page.locator("#pass-not-usable").inner_text()
    # Rejected: the page says so and why to look.
    with session_factory() as s:
        s.get(Trip, trip.id).state = "REJECTED"
        s.commit()
    page.reload()
    assert "驳回" in page.locator("#pass-not-usable").inner_text()
    assert page.locator("#pass-qr").count() == 0
