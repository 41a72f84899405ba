"""The auditor's pages in a real browser: search with filters, the passages tab,
a trip's timeline and its excerpt proven offline, verification with a signed
checkpoint, a consistency check, a receipt, and the CSV export."""

from __future__ import annotations

import json

import pytest

from audit.export import read_export, read_rows
from audit.heads import open_checkpoint
from audit.offline import main as offline_main
from audit.offline import verify_rows
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_world
from tests.integration.test_audit_query import drive
from tests.integration.test_gate import read


@pytest.mark.browser
def test_an_auditor_searches_follows_a_trip_verifies_and_exports(page, live_server, app,
                                                                  session_factory, tmp_path):
    world = make_world(session_factory)
    scene = drive(app.test_client(), world, session_factory)
    sign_in(page, live_server.url, "auditor", PASSWORD)
    page.goto(f"{live_server.url}/audit")
    page.fill("#f-plate", "苏a88888")
    page.click("#audit-filters button[type=submit]")
    page.wait_for_selector("#audit-events tbody tr[data-seq]")
    plates = page.locator("#audit-events tbody tr[data-seq] td:nth-child(6)").all_inner_texts()
    assert plates and set(plates) == {"苏A88888"}

    # The passages tab keeps the filter; narrow to what an operator overrode.
    page.click("#tab-passages")
    page.select_option("#f-override", "true")
    page.click("#audit-filters button[type=submit]")
    rows = page.locator("#audit-passages tbody tr[data-passage]")
    assert rows.count() == 1
    assert rows.first.get_attribute("data-passage") == str(scene["denied"])
    assert "消防检查车辆" in rows.first.inner_text()

    # A bad filter is explained, not a crash.
    page.goto(f"{live_server.url}/audit?decision=MAYBE")
    assert page.locator("#filter-error").is_visible()

    # The trip's whole story, in order, with the crop of the first read.
    page.goto(f"{live_server.url}/audit?action=trip.book")
    page.locator("#audit-events tbody tr[data-seq] td:nth-child(7) a").first.click()
    page.wait_for_selector("#timeline")
    actions = [li.get_attribute("data-action")
               for li in page.locator("#timeline li[data-action]").all()]
    assert actions[0] == "trip.book" and "trip.exit_park" in actions
    assert page.locator("#timeline img.crop").count() >= 1

    # The trip's events, downloaded from its timeline, prove themselves offline against
    # the checkpoint listed on the verify page: every row, no database.
    with page.expect_download() as info:
        page.click("#trip-export")
    excerpt = tmp_path / info.value.suggested_filename
    info.value.save_as(excerpt)
    page.goto(f"{live_server.url}/audit/verify")
    key = page.locator("#public-key").inner_text().strip()
    with page.expect_download() as info:
        page.locator("#checkpoints tbody tr[data-checkpoint] a[download]").first.click()
    kept = tmp_path / info.value.suggested_filename
    info.value.save_as(kept)
    assert kept.suffix == ".note"
    assert offline_main([str(excerpt), "--checkpoint", str(kept), "--public-key", key]) == 0
    meta, rows = read_export(str(excerpt))
    assert json.loads(meta["filter"]) == {"trip_id": str(scene["trip"])}
    result = verify_rows(rows, open_checkpoint(kept.read_text(), key), meta=meta)
    assert result.ok and result.proven == result.rows >= 7

    # Later the auditor checks that the park has not rewritten what that checkpoint
    # signed: paste it, and the latest tree is proven to extend it.
    more = read(app.test_client(), world, "P1-IN", plate="苏A77777", plate_colour="blue",
                trailer_plate=None, trailer_confidence=None, later=True)
    assert more.status_code == 201
    page.click("#sign-now")
    page.fill("#c-kept", kept.read_text())
    page.click("#consistency-form button[type=submit]")
    page.wait_for_selector("#consistency-result")
    assert "一致" in page.locator("#consistency-result").inner_text()
    assert page.locator("#consistency-result .badge.ok").count() == 1

    # A decision's receipt, as a disputing driver would be handed it.
    page.goto(f"{live_server.url}/audit/passages/{scene['denied']}/receipt")
    assert page.locator("#receipt").get_attribute("data-status") == "signed"

    # The auditor verifies the chain; checkpoints are listed for download.
    page.goto(f"{live_server.url}/audit/verify")
    page.click("#verify-form button[type=submit]")
    page.wait_for_selector("#verify-result")
    assert "审计链完整" in page.locator("#verify-result").inner_text()

    # The export link downloads the matching events, and the file checks.
    page.goto(f"{live_server.url}/audit")
    with page.expect_download() as info:
        page.click("#export-csv")
    path = tmp_path / "audit.csv"
    info.value.save_as(path)
    result = verify_rows(read_rows(str(path)), None)
    assert result.ok and result.rows > 20 and result.first_seq == 1
