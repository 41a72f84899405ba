"""The dispatcher board in a real browser: the lot map with each truck in its bay,
the queue per plant, an action from the board, and a dock freed elsewhere showing up
live (server-sent events)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatch import service
from kernel import clock
from kernel.uow import Actor, unit_of_work
from models import Dock, Trip
from tests.e2e.conftest import sign_in, sign_in_as_another
from tests.factories import PASSWORD, auth, book, make_world


def lot_with_two_trucks(session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    with session_factory() as s:
        for dock in s.scalars(select(Dock)):
            dock.busy = True
        s.commit()
    trips = []
    for priority in (0, 3):
        trip = book(session_factory, world, state="ARRIVED", priority=priority)
        with unit_of_work(session_factory) as uow:
            service.check_in(uow, uow.session.get(Trip, trip.id), Actor.system("t"), clock.now())
            uow.commit()
        trips.append(trip.id)
    return world, trips


@pytest.mark.browser
def test_the_board_shows_the_lot_and_acts(page, live_server, session_factory, app):
    world, (first, urgent) = lot_with_two_trucks(session_factory)
    sign_in(page, live_server.url, "dispatcher", PASSWORD)
    page.goto(f"{live_server.url}/lot")
    assert page.locator('#lot-map [data-bay][data-trip]:not([data-trip=""])').count() == 2
    rows = page.locator("#plants tbody tr[data-trip]")
    assert rows.nth(0).get_attribute("data-trip") == str(urgent)  # priority first
    page.wait_for_selector("body[data-stream=open]", state="attached")

    # Hold the urgent truck from the board.
    row = page.locator(f'#plants tr[data-trip="{urgent}"]')
    row.locator("input[name=reason]").fill("罐体检查")
    row.locator("button[value=hold]").click()
    page.wait_for_selector(f'#plants tr[data-trip="{urgent}"][data-status=held]')

    # The plant frees its dock elsewhere: the board updates by itself.
    with session_factory() as s:
        dock_id = s.scalar(select(Dock.id).where(Dock.plant_id == world.plants["E1"].id))
    response = app.test_client().post(f"/api/v1/docks/{dock_id}/free",
                                      headers=auth(world.tokens["receiver"]))
    assert response.json["released_trip_id"] == first  # the held one is passed over
    page.wait_for_selector(f'#plants tr[data-trip="{first}"]', state="detached")
    assert "苏E12345" in page.locator("#plants").inner_text()  # on its way to the plant


@pytest.mark.browser
def test_the_board_speaks_park_time_and_shows_states_apart_from_actions(
        page, live_server, session_factory, app, artifacts):  # type: ignore[no-untyped-def]
    world, _ = lot_with_two_trucks(session_factory)
    with session_factory() as s:
        dock_id = s.scalar(select(Dock.id).where(Dock.plant_id == world.plants["E1"].id))
    app.test_client().post(f"/api/v1/docks/{dock_id}/free", headers=auth(world.tokens["receiver"]))
    sign_in(page, live_server.url, "dispatcher", PASSWORD)
    page.goto(f"{live_server.url}/lot")
    plants = page.locator("#plants").inner_text()
    assert "UTC" not in page.locator("main").inner_text()
    # The released truck's deadline, in park time (release + 30 min after 09:00 there).
    with session_factory() as s:
        deadline = s.scalar(select(Trip.release_deadline).where(
            Trip.release_deadline.is_not(None)))
    from rules.documents import PARK_TZ

    assert deadline.astimezone(PARK_TZ).strftime("%H:%M") in plants
    # A dock shows what it is, and the button says what it will do.
    dock = page.locator(f'[data-dock="{dock_id}"]')
    assert dock.locator("[data-dock-state]").inner_text() in ("占用", "空闲", "占用中", "当前空闲")
    assert dock.locator("button").inner_text().startswith("标记为")
    # A bay names its truck's whole plate.
    bay = page.locator('#lot-map [data-bay][data-plate]:not([data-plate=""])').first
    plate = bay.get_attribute("data-plate")
    assert bay.locator("text.bay-plate").text_content() == plate and len(plate) >= 7
    page.screenshot(path=str(artifacts / "lot-board.zh-CN.png"), full_page=True)


@pytest.mark.browser
def test_a_plant_receiver_sees_its_own_plant_live_and_frees_only_its_docks(
        page, live_server, session_factory, app):
    world, _ = lot_with_two_trucks(session_factory)
    theirs = book(session_factory, world, enterprise="E2", state="ARRIVED")
    with unit_of_work(session_factory) as uow:
        service.check_in(uow, uow.session.get(Trip, theirs.id), Actor.system("t"), clock.now())
        uow.commit()
    sign_in(page, live_server.url, "receiver", PASSWORD)
    page.goto(f"{live_server.url}/")
    page.wait_for_selector("#lot-map")  # the receiver lands on the board
    assert page.locator("#checkin-form").count() == 0  # no dispatcher actions
    # Only its own plant: E2's queue, plant name and truck code are nowhere on the page.
    assert page.locator(f'[data-plant="{world.plants["E2"].id}"]').count() == 0
    assert theirs.code not in page.content() and "E2 装置" not in page.content()
    # Its live updates work: the stream opens and no "interrupted" banner shows.
    page.wait_for_selector("body[data-stream=open]", state="attached")
    assert not page.locator(".stream-banner").is_visible()
    with session_factory() as s:
        their_dock = s.scalar(select(Dock.id).where(Dock.plant_id == world.plants["E2"].id))
    refused = app.test_client().post(f"/api/v1/docks/{their_dock}/free",
                                     headers=auth(world.tokens["receiver"]))
    assert refused.status_code == 404
    # A quality hold: the plant is not ready while its dock is free (L06).
    page.fill(f"#ready-note-{world.plants['E1'].id}", "质检暂停")
    page.locator("[data-readiness-action=not-ready]").click()
    page.wait_for_selector('[data-plant] [data-ready="no"]')
    assert "质检暂停" in page.locator("#plants").inner_text()
    page.locator("[data-dock-action=free]").first.click()
    page.wait_for_selector("text=已标记为空闲")
    with session_factory() as s:
        assert s.scalar(select(Trip.state).where(Trip.priority == 3)) == "IN_LOT"
    page.locator("[data-readiness-action=ready]").click()  # ready again: the truck goes
    page.wait_for_selector('[data-plant] [data-ready="yes"]')
    with session_factory() as s:
        assert s.scalar(select(Trip.state).where(Trip.priority == 3)) == "RELEASED"
    # A change elsewhere reaches the open page by itself: the dispatcher holds the
    # receiver's next truck.
    with session_factory() as s:
        waiting = s.scalar(select(Trip.id).where(Trip.priority == 0,
                                                 Trip.enterprise_id == world.enterprises["E1"].id))
    app.test_client().post(f"/api/v1/lot/trips/{waiting}/hold", json={"reason": "取样"},
                           headers=auth(world.tokens["dispatcher"]))
    page.wait_for_selector(f'#plants tr[data-trip="{waiting}"][data-status=held]')


@pytest.mark.browser
def test_a_receiver_sees_call_forward_and_reports_unloading_done(
        page, live_server, session_factory, app):
    """Call-forward on the board: the dock's truck unloading, when the dock should free,
    the truck called forward to it, the day's dock figures; the receiver's "unloading
    done" hands the dock to that truck."""
    from models import Plant

    world, (first, urgent) = lot_with_two_trucks(session_factory)
    with session_factory() as s:
        s.get(Plant, world.plants["E1"].id).release_timing = "call_forward"
        dock_id = s.scalar(select(Dock.id).where(Dock.plant_id == world.plants["E1"].id))
        s.commit()
    client, receiver = app.test_client(), auth(world.tokens["receiver"])
    assert client.post(f"/api/v1/docks/{dock_id}/free", headers=receiver).json[
        "released_trip_id"] == urgent
    client.post(f"/api/v1/trips/{urgent}/transitions", json={"action": "enter_plant"},
                headers=receiver)
    clock.advance(timedelta(minutes=37))  # the defaults: due 45 - 10 + 1 = 36 min later
    with unit_of_work(session_factory) as uow:
        assert service.call_forward(uow, clock.now()) == 1
    sign_in(page, live_server.url, "receiver", PASSWORD)
    page.goto(f"{live_server.url}/")
    plant = page.locator(f'[data-plant="{world.plants["E1"].id}"]')
    assert plant.locator("[data-timing=call_forward]").inner_text() == "提前叫车"
    dock = plant.locator(f'[data-dock="{dock_id}"]')
    assert "卸货中" in dock.inner_text() and dock.locator("[data-expected-free]").count() == 1
    assert dock.locator(f'[data-next-trip="{first}"]').inner_text().startswith("下一辆（提前叫车）")
    assert "在途" in dock.locator(f'[data-next-trip="{first}"]').inner_text()
    page.wait_for_selector("body[data-stream=open]", state="attached")
    dock.locator("[data-unloading=end]").click()
    page.wait_for_selector("text=卸货完成，泊位已留给下一辆车。")
    with session_factory() as s:
        assert s.get(Dock, dock_id).trip_id == first and s.get(Dock, dock_id).next_trip_id is None
    # The dispatcher's figures for the day: the first unloading's prediction error (45
    # min expected, done after 37) is in the table and the chart.
    sign_in_as_another(page, live_server.url, "dispatcher", PASSWORD)
    page.goto(f"{live_server.url}/lot")
    row = page.locator(f'#kpis [data-kpi-plant="{world.plants["E1"].id}"]')
    assert row.locator("[data-kpi=unload_error]").inner_text() == "8.0"
    assert page.locator("#kpis svg [data-kpi=unload_error]").count() >= 1


@pytest.mark.browser
def test_sending_a_truck_away_asks_first_and_a_no_leaves_it_queued(page, live_server,
                                                                   session_factory):
    _, (_, urgent) = lot_with_two_trucks(session_factory)
    sign_in(page, live_server.url, "dispatcher", PASSWORD)
    page.goto(f"{live_server.url}/lot")
    row = page.locator(f'#plants tr[data-trip="{urgent}"]')
    row.locator("input[name=reason]").fill("证件不符")
    asked: list[str] = []

    def say_no(dialog):  # type: ignore[no-untyped-def]
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", say_no)
    row.locator("button[value=send_away]").click()
    for _ in range(100):  # the dialog's event may reach the test after the click returns
        if asked:
            break
        page.wait_for_timeout(50)
    assert asked and "苏E" in asked[0] and "劝返" in asked[0]
    page.reload()  # nothing was sent: the truck still waits in the queue
    assert page.locator(f'#plants tr[data-trip="{urgent}"]').count() == 1
    with session_factory() as s:
        assert s.get(Trip, urgent).state == "IN_LOT"

    page.once("dialog", lambda dialog: dialog.accept())
    row = page.locator(f'#plants tr[data-trip="{urgent}"]')
    row.locator("input[name=reason]").fill("证件不符")
    with page.expect_navigation():
        row.locator("button[value=send_away]").click()
    assert page.locator(f'#plants tr[data-trip="{urgent}"]').count() == 0
    with session_factory() as s:
        assert s.get(Trip, urgent).state == "SENT_AWAY"


@pytest.mark.browser
def test_on_a_laptop_screen_a_queued_plate_and_its_wait_read_on_one_line(page, live_server,
                                                                        session_factory):
    _, (_, urgent) = lot_with_two_trucks(session_factory)
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, live_server.url, "dispatcher", PASSWORD)
    page.goto(f"{live_server.url}/lot")
    # How many lines the plate and the wait take, as laid out (text ranges, with or
    # without markup of their own).
    lines = page.evaluate("""([trip, words]) => {
        const row = document.querySelector(`#plants tr[data-trip="${trip}"]`);
        const walker = document.createTreeWalker(row, NodeFilter.SHOW_TEXT);
        const out = {};
        for (let node; (node = walker.nextNode());) {
            for (const w of words) {
                const at = node.data.indexOf(w);
                if (at < 0) continue;
                const range = document.createRange();
                range.setStart(node, at); range.setEnd(node, at + w.length);
                const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                out[w] = tops.size;
            }
        }
        return out;
    }""", [urgent, ["苏E12345", "分钟"]])
    assert lines == {"苏E12345": 1, "分钟": 1}, lines  # not 苏 / E12345, nor 0 分 / 钟
