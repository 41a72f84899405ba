"""Pending rows written in one statement: the same rows as a flush, in one round trip
on PostgreSQL, and objects left as a flush leaves them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import bindparam, event, select, update
from sqlalchemy.orm import Session

from models import Enterprise, Park
from models.flush_as_one import flush_as_one

_RENAME = update(Park).where(Park.id == bindparam("park")).values(name=bindparam("new_name"))


def _two_parks(session: Session) -> tuple[int, int]:
    a = Park(code="A", name="甲", policy={})
    b = Park(code="B", name="乙", policy={})
    session.add_all([a, b])
    session.flush()
    session.add(Enterprise(park_id=a.id, code="E1", name="一厂"))
    session.commit()
    return a.id, b.id


def _statements(session: Session) -> list[str]:
    seen: list[str] = []
    event.listen(session.get_bind(), "before_cursor_execute",
                 lambda _c, _cur, statement, *_: seen.append(statement))
    return seen


def _write_everything(session: Session, a_id: int, b_id: int) -> tuple[Park, Enterprise]:
    """Update one park, add a park (its time zone left to the default) and an
    enterprise, and rename the other park by a statement of its own."""
    a = session.get(Park, a_id)
    assert a is not None
    a.name = "甲园区"
    new_park = Park(code="C", name="丙", policy={"k": 1})
    new_enterprise = Enterprise(park_id=a_id, code="E2", name="二厂")
    session.add_all([new_park, new_enterprise])
    flush_as_one(session, also=[(_RENAME, {"park": b_id, "new_name": "乙园区"})])
    return new_park, new_enterprise


def test_pending_rows_are_written_as_a_flush_would_write_them(database):  # type: ignore[no-untyped-def]
    with database.session_factory() as session:
        a_id, b_id = _two_parks(session)
        new_park, new_enterprise = _write_everything(session, a_id, b_id)
        # The new objects are persistent with their keys, nothing is left pending.
        assert new_park.id is not None and new_enterprise.id is not None
        assert new_park.timezone == "Asia/Shanghai"
        assert session.get(Park, new_park.id) is new_park
        assert not session.new and not session.dirty
        session.commit()
    with database.session_factory() as session:
        names = dict(session.execute(select(Park.code, Park.name)).all())
        assert names == {"A": "甲园区", "B": "乙园区", "C": "丙"}
        assert session.get(Park, new_park.id).timezone == "Asia/Shanghai"  # type: ignore[union-attr]
        enterprise = session.get(Enterprise, new_enterprise.id)
        assert enterprise is not None and (enterprise.code, enterprise.park_id) == ("E2", a_id)


@pytest.mark.postgres
def test_on_postgresql_they_go_in_one_statement(pg_database):  # type: ignore[no-untyped-def]
    with pg_database.session_factory() as session:
        a_id, b_id = _two_parks(session)
        seen = _statements(session)
        _write_everything(session, a_id, b_id)
        session.commit()
    writes = [s for s in seen if not s.lstrip().upper().startswith("SELECT")]
    assert len(writes) == 1 and writes[0].lstrip().startswith("WITH")


@pytest.mark.postgres
def test_a_change_that_is_not_plain_is_flushed_as_usual(pg_database):  # type: ignore[no-untyped-def]
    with pg_database.session_factory() as session:
        a_id, _ = _two_parks(session)
        a: Any = session.get(Park, a_id)
        enterprise = session.scalar(select(Enterprise))
        seen = _statements(session)
        session.delete(enterprise)
        a.name = "甲园区"
        flush_as_one(session)
        session.commit()
    assert any(s.startswith("DELETE") for s in seen) and not any(s.startswith("WITH") for s in seen)
    with pg_database.session_factory() as session:
        assert session.scalar(select(Enterprise)) is None
        assert session.get(Park, a_id).name == "甲园区"  # type: ignore[union-attr]


@pytest.mark.postgres
def test_a_failed_statement_writes_none_of_the_rows(pg_database):  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import IntegrityError

    with pg_database.session_factory() as session:
        a_id, _ = _two_parks(session)
        a: Any = session.get(Park, a_id)
        a.name = "改名"
        session.add(Park(code="B", name="重复", policy={}))  # the code is taken
        with pytest.raises(IntegrityError):
            flush_as_one(session)
        session.rollback()
    with pg_database.session_factory() as session:
        assert session.get(Park, a_id).name == "甲"  # type: ignore[union-attr]


@pytest.mark.postgres
def test_the_same_shape_again_writes_the_new_values(pg_database):  # type: ignore[no-untyped-def]
    # The statement is built once per shape; the values must be this call's.
    with pg_database.session_factory() as session:
        a_id, b_id = _two_parks(session)
        for n in range(3):
            a: Any = session.get(Park, a_id)
            a.name = f"甲{n}"
            session.add(Enterprise(park_id=b_id, code=f"N{n}", name=f"厂{n}"))
            flush_as_one(session, also=[(_RENAME, {"park": b_id, "new_name": f"乙{n}"})])
            session.commit()
    with pg_database.session_factory() as session:
        names = dict(session.execute(select(Park.code, Park.name)).all())
        assert names == {"A": "甲2", "B": "乙2"}
        assert sorted(session.scalars(select(Enterprise.code).where(
            Enterprise.park_id == b_id))) == ["N0", "N1", "N2"]


@pytest.mark.postgres
def test_a_bulk_change_is_flushed_as_usual(pg_database):  # type: ignore[no-untyped-def]
    from models.flush_as_one import _MAX_ROWS

    with pg_database.session_factory() as session:
        a_id, _ = _two_parks(session)
        seen = _statements(session)
        session.add_all([Enterprise(park_id=a_id, code=f"B{n}", name="厂")
                         for n in range(_MAX_ROWS + 1)])
        flush_as_one(session)
        session.commit()
    assert not any(s.lstrip().startswith("WITH") for s in seen)
    with pg_database.session_factory() as session:
        assert len(session.scalars(select(Enterprise)).all()) == _MAX_ROWS + 2
