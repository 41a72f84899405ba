"""The Merkle tree over the chain, stored (audit.merkle has the pure algorithms).

Only complete subtrees of 16 leaves or more are stored (`audit_tree`, about one row
per eight events): a complete subtree never changes, so the sequencer writes each
once, in the transaction that links its last event. Anything smaller is recomputed
from the events' own hashes (one leaf is SHA-256(0x00 ‖ the event's chain hash)).
So any proof or root over any tree size the log has reached is a few indexed reads:
the proof's nodes are found first (audit.merkle.needed_nodes), then fetched in two
queries, then hashed.

A database from before the tree holds events the tree does not cover yet
(`audit_head.tree_size` behind its `seq`): the sequencer covers them a slice per
pass (catch_up), and checkpoints sign only what the tree covers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from . import merkle

STORED_FROM = 4  # levels below are recomputed from at most 16 event hashes
BLOCK = 1 << STORED_FROM
CATCH_UP_SLICE = 50_000
T = TypeVar("T")


def node_key(level: int, index: int) -> int:
    return (level << 48) | index


def leaf_of(chain_hash: str) -> bytes:
    """A leaf's hash from the event's chain hash (hex): its leaf data is those 32 bytes."""
    return merkle.leaf_hash(bytes.fromhex(chain_hash))


# --- writing: the sequencer extends the tree with the events it links --------------------

def _event_leaves(session: Session, lo: int, hi: int) -> list[bytes]:
    """Leaf hashes of leaves [lo, hi) (seq lo+1 … hi), from the stored events."""
    from models import AuditEvent

    if hi <= lo:
        return []
    rows = session.execute(select(AuditEvent.seq, AuditEvent.hash)
                           .where(AuditEvent.seq > lo, AuditEvent.seq <= hi)
                           .order_by(AuditEvent.seq)).all()
    if len(rows) != hi - lo:
        raise RuntimeError(f"events #{lo + 1}–#{hi} are not all in the chain")
    return [leaf_of(h) for _, h in rows]


def _among(session: Session, column: Any, values: list[int]) -> Any:
    """`column IN values` for a few thousand values. PostgreSQL takes them as one
    array parameter (an IN list of thousands of parameters costs more to build and
    send than the lookups it asks for); elsewhere an IN list."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import BigInteger, any_, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(None, values, type_=ARRAY(BigInteger)))
    return column.in_(values)


def _lookup(session: Session, columns: Sequence[Any], key: Any,
            values: list[int]) -> list[Any]:
    """Rows (plain tuples, no ORM loading) whose `key` is among `values`."""
    rows: list[Any] = []
    connection = session.connection()
    for i in range(0, len(values), 5000):
        rows += connection.execute(select(*columns).where(
            _among(session, key, values[i:i + 5000]))).all()
    return rows


def _stored(session: Session, keys: Iterable[int]) -> dict[int, bytes]:
    from models import AuditTreeNode

    return dict(_lookup(session, (AuditTreeNode.key, AuditTreeNode.hash), AuditTreeNode.key,
                        list(keys)))


# What this process's last extension left incomplete (the tree's right edge): the
# leaves of the current 16-leaf block, and at each stored level the complete node whose
# parent is not complete yet. The next pass, starting where that one ended, needs no
# read. It is trusted only for the same database, the same size and the same last leaf
# (the head's hash): after a rollback, or when another process extended the tree
# meanwhile, the pass reads what it needs instead.
_EDGE: dict[Any, tuple[int, str, list[bytes], dict[int, tuple[int, bytes]]]] = {}


def extend(session: Session, start: int, leaves: Sequence[bytes], *,
           last_hash: str | None = None, end_hash: str | None = None) -> int:
    """Store the complete subtrees (16 leaves or more) that leaves [start, start + n)
    complete, given their leaf hashes; the tree then covers start + n leaves. The
    caller holds the sequencer's lock and has covered [0, start) before. `last_hash`:
    the chain hash of leaf start - 1 (the committed head), `end_hash` that of the last
    new leaf; with both, the tree's edge is kept for the next pass."""
    from models import AuditTreeNode
    from models.base import table

    end = start + len(leaves)
    if not leaves:
        return end
    url = session.get_bind().engine.url
    block_start = start - start % BLOCK
    edge = _EDGE.get(url)
    if edge is not None and last_hash is not None and edge[:2] == (start, last_hash):
        prefix, pending = edge[2], edge[3]
    else:
        # The first block may have begun before `start`: its earlier leaves come from
        # the events, so every subtree below the stored levels is computed in full;
        # the edge's stored nodes come in one read.
        prefix = _event_leaves(session, block_start, start)
        edge_keys = {level: ((start >> level) - 1) for level in range(STORED_FROM, 64)
                     if (start >> level) % 2 == 1}
        found = _stored(session, [node_key(lv, i) for lv, i in edge_keys.items()]) \
            if edge_keys else {}
        pending = {lv: (i, found[node_key(lv, i)]) for lv, i in edge_keys.items()
                   if node_key(lv, i) in found}
    nodes = dict(enumerate(prefix, block_start))
    nodes.update(enumerate(leaves, start))
    leaf_nodes = nodes
    new_rows: list[dict[str, Any]] = []
    new_edge: dict[int, tuple[int, bytes]] = {}
    level = 0
    while True:
        level += 1
        # Nodes that end within (start, end]; below the stored levels, the whole block.
        first = (block_start if level <= STORED_FROM else start) >> level
        last = end >> level
        below = level - 1
        if below >= STORED_FROM:
            _keep_edge(new_edge, pending, below, end, nodes)
        if first >= last:
            break
        if level > STORED_FROM and first * 2 not in nodes:
            # A left child completed by an earlier pass: on the edge, or stored.
            kept = pending.get(below)
            if kept is not None and kept[0] == first * 2:
                nodes[first * 2] = kept[1]
            else:
                key = node_key(below, first * 2)
                nodes[first * 2] = _stored(session, [key])[key]
        nodes = {i: merkle.node_hash(nodes[2 * i], nodes[2 * i + 1])
                 for i in range(first, last)}
        if level >= STORED_FROM:
            new_rows += [{"key": node_key(level, i), "hash": h} for i, h in nodes.items()]
    for higher in range(level, 64):
        if (end >> higher) == 0:
            break
        _keep_edge(new_edge, pending, higher, end, {} if higher > level - 1 else nodes)
    if new_rows:
        session.execute(table(AuditTreeNode).insert(), new_rows)
    if end_hash is not None:
        block = end - end % BLOCK
        _EDGE[url] = (end, end_hash, [leaf_nodes[i] for i in range(block, end)], new_edge)
    else:
        _EDGE.pop(url, None)
    return end


def _keep_edge(edge: dict[int, tuple[int, bytes]], pending: dict[int, tuple[int, bytes]],
               level: int, end: int, nodes: dict[int, bytes]) -> None:
    """At `level`, the last complete node is kept when its parent is still incomplete
    (its index is even): computed in this pass, or carried over from the last."""
    count = end >> level
    if count % 2 == 0:
        return
    index = count - 1
    if index in nodes:
        edge[level] = (index, nodes[index])
    elif level in pending and pending[level][0] == index:
        edge[level] = pending[level]


def forget_edge(session: Session) -> None:
    """Drop the kept edge (a linking transaction that did not commit)."""
    _EDGE.pop(session.get_bind().engine.url, None)


def catch_up(session: Session, tree_size: int, head_seq: int,
             budget: int = CATCH_UP_SLICE) -> int:
    """Cover up to `budget` linked events the tree does not cover yet (a database
    from before the tree); the new tree size."""
    upto = min(head_seq, tree_size + budget)
    size = tree_size
    while size < upto:
        step = min(upto, size + 10_000)
        size = extend(session, size, _event_leaves(session, size, step))
    return size


# --- reading: roots and proofs at any size the tree covers --------------------------------

class StoredNodes:
    """Perfect subtrees from the store, fetched in bulk for a batch of proofs."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def run(self, make: Callable[[merkle.NodeSource], T]) -> T:
        """`make` over the stored tree: its nodes are found first, then read in bulk."""
        needed = merkle.needed_nodes(make)
        values = self.fetch(needed)
        return make(lambda level, index: values[(level, index)])

    def fetch(self, needed: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        from models import AuditEvent

        needed = set(needed)
        high = [n for n in needed if n[0] >= STORED_FROM]
        low = [n for n in needed if n[0] < STORED_FROM]
        out = {(k >> 48, k & ((1 << 48) - 1)): v
               for k, v in _stored(self.session, [node_key(*n) for n in high]).items()}
        if len(out) != len(high):
            raise merkle.ProofError("the stored tree lacks nodes it should hold")
        seqs = sorted({s for level, index in low
                       for s in range((index << level) + 1, ((index + 1) << level) + 1)})
        leaves = {seq - 1: leaf_of(h) for seq, h in _lookup(
            self.session, (AuditEvent.seq, AuditEvent.hash), AuditEvent.seq, seqs)}
        for level, index in low:
            lo, hi = index << level, (index + 1) << level
            try:
                out[(level, index)] = merkle.root_of([leaves[i] for i in range(lo, hi)])
            except KeyError as exc:
                raise merkle.ProofError(f"leaf {exc.args[0]} is not in the chain") from exc
        return out


def covered(session: Session) -> int:
    """How many leaves the stored tree covers."""
    return session.execute(text("SELECT tree_size FROM audit_head WHERE id = 1")).scalar() or 0


def root(session: Session, size: int) -> bytes:
    return StoredNodes(session).run(lambda source: merkle.tree_root(source, size))


def inclusion_proofs(session: Session, indexes: Sequence[int],
                     size: int) -> list[list[bytes]]:
    """Audit paths of several leaves to the tree of `size`, with one bulk read."""
    return StoredNodes(session).run(
        lambda source: [merkle.inclusion_proof(source, i, size) for i in indexes])


def consistency_proof(session: Session, old: int, new: int) -> list[bytes]:
    return StoredNodes(session).run(lambda source: merkle.consistency_proof(source, old, new))
