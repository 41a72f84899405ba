"""An entity made from a row read by a statement of one's own, as if the session had
loaded it: a transaction that has read a whole row already (in a round trip it had to
make anyway) need not ask for it again to change it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, make_transient_to_detached

T = TypeVar("T")
_HELD = "adopt.held"


def adopt(session: Session, cls: type[T], values: Mapping[str, Any]) -> T:
    """The `cls` entity whose columns hold `values` (by column key; a whole row, each
    value as SQLAlchemy would have loaded it), persistent in `session`: later changes
    are written as updates, and session.get() finds it until the transaction ends.
    If the session holds that entity already, it is the one returned (unchanged: the
    session's own state wins). Columns left out are loaded when first used."""
    mapper = inspect(cls)
    identity = mapper.identity_key_from_primary_key([values[c.key] for c in mapper.primary_key])
    held = session.identity_map.get(identity)
    if held is not None:
        return held  # type: ignore[no-any-return]
    # As a load does it: values straight into the entity's state, without the
    # constructor's attribute events (five times the cost, for history reset below).
    entity = mapper.class_manager.new_instance()
    entity.__dict__.update({prop.key: values[prop.columns[0].key] for prop in mapper.column_attrs
                            if prop.columns[0].key in values})
    make_transient_to_detached(entity)
    session.add(entity)
    # The session holds an unchanged entity weakly: without this it would be gone
    # before anyone asked for it.
    session.info.setdefault(_HELD, []).append(entity)
    session.connection()  # an adopted row belongs to a transaction: its end lets go
    return entity


def _let_go(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_HELD, None)


event.listen(Session, "after_transaction_end", _let_go)
