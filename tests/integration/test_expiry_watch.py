"""The expiry watch with a pinned clock: the page/API list and the daily digest."""

from __future__ import annotations

from datetime import timedelta

from kernel.uow import unit_of_work
from models import Carrier, Person, Qualification, Vehicle, enterprise_carriers
from registry.expiry import run_watch
from rules.documents import park_date
from tests.factories import NOW, auth, make_world, uscc


def arrange(session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    today = park_date(NOW)
    with session_factory() as s:
        carrier = Carrier(name="远通运输", credit_code=uscc(3),
                          licence_expires_on=today + timedelta(days=10))
        s.add(carrier)
        s.flush()
        s.execute(enterprise_carriers.insert().values(enterprise_id=world.enterprises["E1"].id,
                                                      carrier_id=carrier.id))
        tractor = s.get(Vehicle, world.vehicles["tractor"].id)
        tractor.carrier_id = carrier.id
        tractor.permit_expires_on = today + timedelta(days=3)
        trailer = s.get(Vehicle, world.vehicles["trailer"].id)
        trailer.inspection_expires_on = today - timedelta(days=1)
        # Only the tractor works for 远通; the rest of the world's rig for nobody.
        trailer.carrier_id = None
        for key in ("driver", "escort"):
            s.get(Person, world.persons[key].id).carrier_id = None
        car = s.get(Vehicle, world.vehicles["car"].id)
        car.inspection_expires_on = today + timedelta(days=100)
        qual = s.query(Qualification).filter_by(person_id=world.persons["driver"].id).one()
        qual.expires_on = today + timedelta(days=1)
        s.commit()
    return world


def fetch(client, world, token="admin", **query):  # type: ignore[no-untyped-def]
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    response = client.get(f"/api/v1/records/expiring?{qs}", headers=auth(world.tokens[token]))
    assert response.status_code == 200, response.json
    return response.json


def test_lists_expired_and_expiring_within_n_days(client, session_factory):
    world = arrange(session_factory)
    week = fetch(client, world, days=7)
    assert week["today"] == "2026-11-22"
    found = {(d["subject"], d["status"], d["days_left"]) for d in week["items"]}
    assert found == {("苏E1234挂", "expired", -1), ("苏E12345", "expiring", 3),
                     ("王师傅 CERT000001", "expiring", 1)}
    month = {d["kind"] for d in fetch(client, world, days=30)["items"]}
    assert "carriers" in month


def test_per_carrier_and_per_enterprise(client, session_factory):
    world = arrange(session_factory)
    with session_factory() as s:
        carrier_id = s.query(Carrier.id).filter_by(name="远通运输").scalar()
    by_carrier = fetch(client, world, days=30, carrier_id=carrier_id)["items"]
    assert {d["subject"] for d in by_carrier} == {"苏E12345", "远通运输"}
    mine = fetch(client, world, token="logistics_E1", days=30)["items"]
    assert {d["subject"] for d in mine} == {"苏E12345", "远通运输"}
    theirs = fetch(client, world, token="logistics_E2", days=30)["items"]
    assert theirs == []


def test_daily_digest_goes_out_on_the_bus(session_factory, bus):
    world = arrange(session_factory)
    park_wide = bus.subscribe(["records"])
    e1 = bus.subscribe([f"enterprise:{world.enterprises['E1'].id}"])
    with unit_of_work(session_factory, bus) as uow:
        summary = run_watch(uow, park_date(NOW), 7)
    assert summary["expired"] == 1 and summary["expiring"] == 2
    assert park_wide.get(timeout=10).data["expiring"] == 2
    digest = e1.get(timeout=10)
    assert digest.type == "expiry.digest" and digest.data["expiring"] == 1  # the tractor
