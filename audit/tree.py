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


def _pack_edge(size: int, block: Sequence[bytes], levels: dict[int, bytes]) -> bytes:
    """The right edge at `size`: the leaves of the current 16-leaf block, then for each
    stored level whose last complete node still waits for its sibling, the level and
    that node (its index follows from size and level)."""
    assert len(block) == size % BLOCK
    return size.to_bytes(8, "big") + bytes([len(block)]) + b"".join(block) + b"".join(
        bytes([level]) + node for level, node in sorted(levels.items()))


def _unpack_edge(size: int, data: bytes | None) -> tuple[list[bytes], dict[int, bytes]] | None:
    """The edge kept at `size`, or None (none kept, or kept at another size)."""
    if not data or len(data) < 9 or int.from_bytes(data[:8], "big") != size:
        return None
    count, pos = data[8], 9
    block = [data[pos + 32 * i:pos + 32 * (i + 1)] for i in range(count)]
    pos += 32 * count
    levels: dict[int, bytes] = {}
    while pos + 33 <= len(data):
        levels[data[pos]] = data[pos + 1:pos + 33]
        pos += 33
    return block, levels


def extend(session: Session, start: int, leaves: Sequence[bytes], edge: bytes | None = None
           ) -> tuple[int, bytes]:
    """Store the complete subtrees (16 leaves or more) that leaves [start, start + n)
    complete, given their leaf hashes; the tree then covers start + n leaves. The
    caller holds the sequencer's lock and has covered [0, start) before. `edge`: the
    tree's right edge at `start` as the last extension left it (audit_head.tree_edge,
    read with the head); without it, what it holds is read from the events and the
    stored nodes. Returns the new size and the edge to keep with it."""
    from models import AuditTreeNode
    from models.base import table

    end = start + len(leaves)
    block_start = start - start % BLOCK
    unpacked = _unpack_edge(start, edge) if start else ([], {})
    if unpacked is None:
        # The first block's earlier leaves come from the events, so every subtree below
        # the stored levels is computed in full; the edge's nodes come in one read.
        wanted = {lv: (start >> lv) - 1 for lv in range(STORED_FROM, 64) if (start >> lv) % 2}
        found = _stored(session, [node_key(lv, i) for lv, i in wanted.items()]) if wanted else {}
        unpacked = (_event_leaves(session, block_start, start),
                    {lv: found[node_key(lv, i)] for lv, i in wanted.items()
                     if node_key(lv, i) in found})
    prefix, pending = unpacked
    nodes = dict(enumerate(prefix, block_start))
    nodes.update(enumerate(leaves, start))
    block = [nodes[i] for i in range(end - end % BLOCK, end)]
    new_rows: list[dict[str, Any]] = []
    new_edge: dict[int, bytes] = {}
    level = 0
    while True:
        level += 1
        below = level - 1
        # Nodes that end within (start, end]; below the stored levels, the whole block.
        first = (block_start if level <= STORED_FROM else start) >> level
        last = end >> level
        if below >= STORED_FROM and (end >> below) % 2:
            # The last complete node at this level waits for its sibling: keep it.
            index = (end >> below) - 1
            held = nodes.get(index)
            if held is None and below in pending and (start >> below) - 1 == index:
                held = pending[below]
            if held is not None:
                new_edge[below] = held
        if first >= last:
            break
        if level > STORED_FROM and first * 2 not in nodes:
            # A left child completed by an earlier pass: on the edge, or stored.
            if below in pending and (start >> below) - 1 == first * 2:
                nodes[first * 2] = pending[below]
            else:
                key = node_key(below, first * 2)
                nodes[first * 2] = _stored(session, [key])[key]
        nodes = {i: merkle.node_hash(nodes[2 * i], nodes[2 * i + 1])
                 for i in range(first, last)}
        if level >= STORED_FROM:
            new_rows += [{"key": node_key(level, i), "hash": h} for i, h in nodes.items()]
    # Higher up nothing completed in this pass: their waiting nodes are as they were.
    for higher in range(max(level, STORED_FROM), 64):
        if (end >> higher) % 2 and higher in pending and (start >> higher) == (end >> higher):
            new_edge[higher] = pending[higher]
    if new_rows:
        session.execute(table(AuditTreeNode).insert(), new_rows)
    return end, _pack_edge(end, block, new_edge)


def catch_up(session: Session, tree_size: int, head_seq: int,
             budget: int = CATCH_UP_SLICE) -> tuple[int, bytes | None]:
    """Cover up to `budget` linked events the tree does not cover yet (a database
    from before the tree); the new tree size and its edge."""
    upto = min(head_seq, tree_size + budget)
    size, edge = tree_size, None
    while size < upto:
        step = min(upto, size + 10_000)
        size, edge = extend(session, size, _event_leaves(session, size, step), edge)
    return size, edge


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
