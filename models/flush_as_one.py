"""A session's pending rows written in one statement on PostgreSQL.

A flush sends a statement per changed row, each a round trip to the server and a pass
through the ORM's unit of work. Where a decision is timed and writes a handful of rows
(the lot's release: the truck that left, its dock, the release, the next truck, its
queue entry and bay), those rows go as data-modifying WITH clauses of one statement
instead. Only plain changes qualify: rows updated by primary key in their own columns,
new rows with a generated integer key and no related objects of their own, a dozen at
most; anything else (a delete, a relationship change, a bulk import, another engine)
is flushed as usual, so the rows come out the same either way. (No flush events fire
for the one statement; nothing here listens for them.)

All clauses of one statement see the same snapshot, so no row may depend on another
written beside it; a new row refers only to rows that exist already, which is all the
plain changes above can do. Foreign keys are checked at the end of the statement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, insert, inspect, literal, select, update
from sqlalchemy.orm import ColumnProperty, Session
from sqlalchemy.orm.session import make_transient_to_detached
from sqlalchemy.orm.state import InstanceState
from sqlalchemy.sql.dml import Insert, Update


@dataclass(frozen=True)
class _Row:
    state: InstanceState[Any]
    table: Table
    values: dict[str, Any]  # attribute key -> value, as the row must hold it
    columns: dict[str, Any]  # attribute key -> its column


Also = tuple[Update, dict[str, Any]]  # an UPDATE built once, and its values


def flush_as_one(session: Session, *, also: Sequence[Also] = ()) -> None:
    """Write what the session holds pending, and the `also` statements (UPDATEs built
    once with bound parameters, given with their values), in one statement on
    PostgreSQL; elsewhere, or for changes that are not plain, flush and run `also`
    one by one as usual."""
    one = one_statement(session, also=also)
    if one is None:
        return
    with session.no_autoflush:  # the statement is the flush
        row = session.execute(one.statement, one.params).one()
    one.written(row)


@dataclass(frozen=True)
class OneStatement:
    """The statement that writes a session's pending rows, its values, and what makes
    the objects written as a flush leaves them, given the statement's one row."""
    statement: Any
    params: dict[str, Any]
    written: Callable[[Sequence[Any]], None]


def one_statement(session: Session, *, also: Sequence[Also] = ()) -> OneStatement | None:
    """flush_as_one's statement, for the caller to run (with others, in one round
    trip); None when nothing is pending, or when it was flushed as usual instead
    (another engine, changes that are not plain)."""
    rows = _plain_rows(session) if session.get_bind().dialect.name == "postgresql" else None
    if rows is None:
        session.flush()
        for stmt, params in also:
            session.execute(stmt, params)
        return None
    updated, added = rows
    if not updated and not added and not also:
        return None
    params = _params(updated, added)
    for _, values in also:
        params.update(values)

    def written(keys: Sequence[Any]) -> None:
        for row in updated:
            # Every change the object held is written: it is left as clean as a flush
            # leaves it (the ORM's own step after an UPDATE), so no later flush visits it.
            row.state._commit_all(row.state.dict, session.identity_map)
        for n, row in enumerate(added):
            _now_persistent(session, row, keys[n])

    return OneStatement(_statement(updated, added, [stmt for stmt, _ in also]), params, written)


# More rows than a decision writes are a bulk change (an import): a flush batches
# those better, and a statement per shape would not be worth keeping.
_MAX_ROWS = 12


def _plain_rows(session: Session) -> tuple[list[_Row], list[_Row]] | None:
    """The session's pending rows, updated and new, in a stable order (the statement's
    text, and so its prepared plan, stays the same from one decision to the next);
    None when any change is not plain, or there are too many."""
    dirty, new = session.dirty, session.new
    if session.deleted or len(dirty) + len(new) > _MAX_ROWS:
        return None
    updated, added = [], []
    for obj in dirty:
        row = _update_of(inspect(obj))
        if row is False:
            return None
        if row is not None:
            updated.append(row)
    for obj in new:
        row = _insert_of(inspect(obj))
        if row is None:
            return None
        added.append(row)
    updated.sort(key=lambda r: (r.table.name, tuple(sorted(r.values)), r.state.key))
    added.sort(key=lambda r: (r.table.name, tuple(sorted(r.values))))
    return updated, added


def _single_table(state: InstanceState[Any]) -> Table | None:
    mapper = state.mapper
    table = mapper.local_table
    if mapper.inherits is not None or mapper.version_id_col is not None or \
            not isinstance(table, Table) or len(mapper.primary_key) != 1:
        return None
    return table


def _update_of(state: InstanceState[Any]) -> _Row | bool | None:
    """The columns changed on a loaded row; None if nothing really changed, False if
    the change is not plain."""
    table = _single_table(state)
    if table is None or state.key is None:
        return False
    values, columns = {}, {}
    for key in sorted(set(state.manager).difference(state.unmodified)):  # what was set
        prop = state.mapper.attrs[key]
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        if not isinstance(prop, ColumnProperty) or len(prop.columns) != 1 or \
                prop.columns[0] is state.mapper.primary_key[0] or not history.added:
            return False
        values[prop.key], columns[prop.key] = history.added[0], prop.columns[0]
    return _Row(state, table, values, columns) if values else None


def _insert_of(state: InstanceState[Any]) -> _Row | None:
    """A new row's columns (scalar defaults filled in as the ORM would); None if it is
    not plain: related objects of its own, a key given or not generated."""
    table = _single_table(state)
    if table is None:
        return None
    mapper = state.mapper
    pk = mapper.primary_key[0]
    if table.autoincrement_column is not pk or mapper.get_property_by_column(pk).key in state.dict:
        return None
    values, columns = {}, {}
    for prop in mapper.iterate_properties:
        if not isinstance(prop, ColumnProperty):
            if state.attrs[prop.key].history.has_changes():
                return None
            continue
        if len(prop.columns) != 1 or prop.columns[0] is pk:
            continue
        column = prop.columns[0]
        if prop.key in state.dict:
            values[prop.key] = state.dict[prop.key]
        elif column.default is not None and column.default.is_scalar:
            values[prop.key] = column.default.arg
        elif column.default is not None or column.server_default is not None:
            return None  # a value only the database or a function would know
        else:
            values[prop.key] = None
        columns[prop.key] = column
    return _Row(state, table, values, columns)


# Built once per shape (which tables, which columns): building and compiling the
# statement costs more than the round trips it saves. A few shapes exist per code path.
_SHAPES: dict[tuple[Any, ...], Any] = {}


def _statement(updated: list[_Row], added: list[_Row], also: list[Update]) -> Any:
    shape = (tuple((r.table, tuple(r.values)) for r in updated), tuple(also),
             tuple((r.table, tuple(r.values)) for r in added))
    statement = _SHAPES.get(shape)
    if statement is None:
        if len(_SHAPES) >= 256:
            _SHAPES.clear()
        statement = _SHAPES[shape] = _build(updated, added, also)
    return statement


def _build(updated: list[_Row], added: list[_Row], also: list[Update]) -> Any:
    """SELECT the new keys (or 1) WITH every write as a clause of its own."""
    clauses: list[Any] = []
    for n, row in enumerate(updated):
        pk = row.state.mapper.primary_key[0]
        stmt: Insert | Update = update(row.table).where(
            pk == bindparam(f"fa_u{n}_k", type_=pk.type)).values(_bound(row, f"fa_u{n}"))
        clauses.append(stmt.cte(f"fa_u{n}"))
    clauses += [stmt.cte(f"fa_a{n}") for n, stmt in enumerate(also)]
    inserts = []
    for n, row in enumerate(added):
        pk = row.state.mapper.primary_key[0]
        stmt = insert(row.table).values(_bound(row, f"fa_i{n}")).returning(pk)
        inserts.append(stmt.cte(f"fa_i{n}"))
    if not inserts:
        return select(literal(1)).add_cte(*clauses)
    # One row of keys; each insert's key as a subquery, as the clauses are not joined.
    return select(*(select(c.c[0]).scalar_subquery() for c in inserts)).add_cte(*clauses)


def _bound(row: _Row, prefix: str) -> dict[str, Any]:
    """The row's columns, each set from a parameter named `prefix`_j (see _named)."""
    return {row.columns[k].name: bindparam(f"{prefix}_{j}", type_=row.columns[k].type)
            for j, k in enumerate(row.values)}


def _named(row: _Row, prefix: str) -> dict[str, Any]:
    return {f"{prefix}_{j}": v for j, v in enumerate(row.values.values())}


def _params(updated: list[_Row], added: list[_Row]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for n, row in enumerate(updated):
        params[f"fa_u{n}_k"] = row.state.key[1][0]  # type: ignore[index]
        params.update(_named(row, f"fa_u{n}"))
    for n, row in enumerate(added):
        params.update(_named(row, f"fa_i{n}"))
    return params


def _now_persistent(session: Session, row: _Row, key: Any) -> None:
    """A new object whose row the statement wrote becomes what a flush would have left:
    persistent, with its key, its history clean."""
    obj = row.state.obj()
    session.expunge(obj)
    pk_prop = row.state.mapper.get_property_by_column(row.state.mapper.primary_key[0])
    setattr(obj, pk_prop.key, key)
    for k, value in row.values.items():
        if k not in row.state.dict:
            setattr(obj, k, value)
    make_transient_to_detached(obj)
    session.add(obj)
