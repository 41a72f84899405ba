"""The demo prints a device token for every lane, each bound to its lane."""

from __future__ import annotations

from sqlalchemy import select

from auth.tokens import resolve_principal
from demo.runner import prepare_demo
from models import Lane
from parkgate.config import Settings


def test_the_demo_banner_lists_a_token_for_every_lane(tmp_path):  # type: ignore[no-untyped-def]
    settings = Settings(env="development", database_url=f"sqlite:///{tmp_path / 'demo.db'}",
                        secret_key="k", pii_key="p", instance_path=tmp_path)
    prepared = prepare_demo(settings)
    banner = prepared.banner("127.0.0.1", 8000)
    with prepared.database.session_factory() as s:
        lanes = {lane.id: lane.code for lane in s.scalars(select(Lane))}
        for code, token in prepared.device_tokens.items():
            principal = resolve_principal(s, token)
            assert principal is not None and lanes[principal.lane_id] == code
    assert set(prepared.device_tokens) == set(lanes.values())
    for code, token in prepared.device_tokens.items():
        assert f"{code:<7} {token}" in banner
    prepared.database.dispose()
