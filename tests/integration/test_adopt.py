"""An entity made from a row the transaction read itself (models.adopt): the session
uses it as if it had loaded it, without asking the database again."""

from __future__ import annotations

import gc

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from models import Park
from models.adopt import adopt
from tests.factories import make_park


def _statements(session: Session) -> list[str]:
    seen: list[str] = []
    event.listen(session.get_bind(), "before_cursor_execute",
                 lambda _c, _cur, statement, *_: seen.append(statement))
    return seen


def _park(database) -> int:  # type: ignore[no-untyped-def]
    return make_park(database.session_factory, policy={"arrival_grace_min": 30})


def test_an_adopted_row_is_the_sessions_entity_without_a_look_up(database):  # type: ignore[no-untyped-def]
    park_id = _park(database)
    with database.session_factory() as session:
        row = session.execute(select(Park.__table__).where(Park.id == park_id)).one()
        adopt(session, Park, row._asdict())  # no reference kept: the session keeps it
        gc.collect()
        seen = _statements(session)
        park = session.get(Park, park_id)
        assert park is not None and seen == []
        assert park.name == "园区" and park.policy == {"arrival_grace_min": 30}
        assert not session.dirty and not session.new
        park.name = "化工园区"
        session.commit()
        assert any(s.lstrip().upper().startswith("UPDATE") for s in seen)
    with database.session_factory() as session:
        assert session.get(Park, park_id).name == "化工园区"  # type: ignore[union-attr]


def test_the_session_keeps_what_it_holds_and_lets_go_when_the_transaction_ends(database):  # type: ignore[no-untyped-def]
    park_id = _park(database)
    with database.session_factory() as session:
        held = session.get(Park, park_id)
        assert held is not None
        held.name = "改过"
        row = session.execute(select(Park.__table__).where(Park.id == park_id)).one()
        # The row was read after the session's change was flushed; the session's
        # entity is still the one, its state what the session knows.
        assert adopt(session, Park, {**row._asdict(), "name": "旧名"}) is held
        assert held.name == "改过"
        session.rollback()
    with database.session_factory() as session:
        row = session.execute(select(Park.__table__).where(Park.id == park_id)).one()
        adopt(session, Park, row._asdict())
        session.commit()
        gc.collect()
        assert len(session.identity_map) == 0  # a later transaction reads it afresh
