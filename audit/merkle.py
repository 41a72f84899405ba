"""A Merkle tree over the audit log, in the shape of RFC 6962 / RFC 9162 §2.1.

Leaves are the events in chain order: leaf m is the event at seq m + 1, and its leaf
data is the event's 32-byte chain hash (which commits to every hashed column and to
the event before it). Hashing is domain-separated as the RFCs define it: a leaf is
SHA-256(0x00 || data), an interior node SHA-256(0x01 || left || right), and a tree of
n leaves splits at the largest power of two below n.

Everything here is pure and needs no database: proofs are generated over any source
of *perfect* subtree hashes (aligned subtrees of 2^level leaves, which never change
once complete; audit.tree stores them), and verified from the hashes alone, as the
offline verifier does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

# A perfect subtree: (level, index) covers leaves [index·2^level, (index+1)·2^level).
NodeSource = Callable[[int, int], bytes]

EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    pass


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes, computed directly (small trees, tests, the builder)."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    # Bottom-up with the odd node carried up unchanged: the same tree as the RFC's
    # top-down split at the largest power of two.
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


# --- generation over perfect subtrees ----------------------------------------------------

def range_hash(source: NodeSource, lo: int, hi: int) -> bytes:
    """MTH of leaves [lo, hi): the range is a node of the RFC tree (lo aligned to the
    largest power of two not above hi - lo), so it is one perfect subtree or a perfect
    one followed by the hash of the rest."""
    n = hi - lo
    if n <= 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0:
        level = n.bit_length() - 1
        return source(level, lo >> level)
    k = split(n)
    return node_hash(range_hash(source, lo, lo + k), range_hash(source, lo + k, hi))


def tree_root(source: NodeSource, size: int) -> bytes:
    return range_hash(source, 0, size)


def inclusion_proof(source: NodeSource, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]) (RFC 9162 §2.1.3.1), leaf-side first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size}")
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split(hi - lo)
        if index < lo + k:
            path.append(range_hash(source, lo + k, hi))
            hi = lo + k
        else:
            path.append(range_hash(source, lo, lo + k))
            lo = lo + k
    path.reverse()
    return path


def consistency_proof(source: NodeSource, old: int, new: int) -> list[bytes]:
    """PROOF(old, D[0:new]) (RFC 9162 §2.1.4.1)."""
    if not 0 <= old <= new:
        raise ProofError(f"a tree of {old} cannot be a prefix of one of {new}")
    if old == 0 or old == new:
        return []
    path: list[bytes] = []
    lo, hi, whole = 0, new, True
    m = old
    while True:
        if m == hi - lo:
            if not whole:
                path.append(range_hash(source, lo, hi))
            break
        k = split(hi - lo)
        if m <= k:
            path.append(range_hash(source, lo + k, hi))
            hi = lo + k
        else:
            path.append(range_hash(source, lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    path.reverse()
    return path


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ---------------------------------------

def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """The root that `path` proves `leaf` at `index` belongs to, or ProofError."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ProofError("the audit path is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the audit path is too short")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes],
                     root: bytes) -> bool:
    try:
        return root_from_inclusion(index, size, leaf, path) == root
    except ProofError:
        return False


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes,
                       path: Sequence[bytes]) -> bool:
    """Whether `path` proves the tree of `old` leaves with `old_root` is a prefix of
    the tree of `new` leaves with `new_root`."""
    if not 0 <= old <= new:
        return False
    if old == new:
        return not path and old_root == new_root
    if old == 0:
        return not path  # every tree extends the empty one
    proof = list(path)
    if old & (old - 1) == 0:  # the old tree is a perfect subtree: its root starts the walk
        proof.insert(0, old_root)
    if not proof:
        return False
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


# --- batching: which perfect subtrees a set of proofs needs -------------------------------

def needed_nodes(make: Callable[[NodeSource], object]) -> set[tuple[int, int]]:
    """The perfect subtrees `make` reads, found by running it over a source that only
    records: a store can then fetch them all in one query before the real run."""
    seen: set[tuple[int, int]] = set()

    def record(level: int, index: int) -> bytes:
        seen.add((level, index))
        return EMPTY_ROOT

    make(record)
    return seen
