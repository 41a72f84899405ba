"""The Merkle tree over the audit log against RFC 6962 / RFC 9162 §2.1, computed here
straight from the RFC's recursive definitions (MTH, PATH, PROOF) and from
Certificate Transparency's published roots for its eight test leaves."""

from __future__ import annotations

import hashlib

import pytest

from audit import merkle


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def mth(d: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, word for word."""
    n = len(d)
    if n == 0:
        return sha(b"")
    if n == 1:
        return sha(b"\x00" + d[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return sha(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1."""
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1."""
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


# Certificate Transparency's test leaves and the roots of their first n (RFC 6962 trees).
CT_LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f")]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

DATA = [f"event {i}".encode() for i in range(70)]
LEAVES = [merkle.leaf_hash(d) for d in DATA]


def source(leaves: list[bytes]) -> merkle.NodeSource:
    return lambda level, index: merkle.root_of(leaves[index << level:(index + 1) << level])


def test_the_roots_match_certificate_transparency_and_the_rfc_definition():
    assert merkle.EMPTY_ROOT.hex() == \
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    leaves = [merkle.leaf_hash(d) for d in CT_LEAVES]
    for n, expected in enumerate(CT_ROOTS, start=1):
        assert mth(CT_LEAVES[:n]).hex() == expected
        assert merkle.root_of(leaves[:n]).hex() == expected
        assert merkle.tree_root(source(leaves), n).hex() == expected


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 9, 16, 17, 31, 33, 64, 70])
def test_inclusion_proofs_are_the_rfc_audit_paths_and_verify(size):
    root = mth(DATA[:size])
    for m in range(size):
        proof = merkle.inclusion_proof(source(LEAVES), m, size)
        assert proof == path(m, DATA[:size])
        assert merkle.verify_inclusion(m, size, LEAVES[m], proof, root)
        # Another leaf, another position, a cut or padded path: refused.
        assert not merkle.verify_inclusion(m, size, LEAVES[(m + 1) % 70], proof, root) or size == 1
        if proof:
            assert not merkle.verify_inclusion(m, size, LEAVES[m], proof[:-1], root)
            assert not merkle.verify_inclusion(m, size, LEAVES[m], [*proof, proof[0]], root)
            flipped = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
            assert not merkle.verify_inclusion(m, size, LEAVES[m], flipped, root)
        if m + 1 < size:
            assert not merkle.verify_inclusion(m + 1, size, LEAVES[m], proof, root)


@pytest.mark.parametrize("new", [1, 2, 3, 4, 6, 8, 9, 13, 16, 21, 32, 47, 70])
def test_consistency_proofs_are_the_rfc_proofs_and_verify(new):
    new_root = mth(DATA[:new])
    for old in range(0, new + 1):
        proof = merkle.consistency_proof(source(LEAVES), old, new)
        if 0 < old < new:
            assert proof == subproof(old, DATA[:new], True)
        assert merkle.verify_consistency(old, new, mth(DATA[:old]), new_root, proof)


def test_a_rewritten_history_fails_consistency():
    old_root = mth(DATA[:20])
    rewritten = [*DATA[:7], b"edited", *DATA[8:40]]
    leaves = [merkle.leaf_hash(d) for d in rewritten]
    proof = merkle.consistency_proof(source(leaves), 20, 40)
    assert not merkle.verify_consistency(20, 40, old_root, mth(rewritten), proof)
    # The honest tree extends it; a shrunken one cannot.
    honest = merkle.consistency_proof(source(LEAVES), 20, 40)
    assert merkle.verify_consistency(20, 40, old_root, mth(DATA[:40]), honest)
    assert not merkle.verify_consistency(40, 20, mth(DATA[:40]), old_root, honest)


def test_proofs_need_only_the_perfect_subtrees_the_store_holds():
    needed = merkle.needed_nodes(lambda s: merkle.inclusion_proof(s, 37, 70))
    for level, index in needed:
        assert (index + 1) << level <= 70  # complete subtrees inside the tree only
    assert len(needed) <= 2 * 7


def test_the_sequencer_stores_every_complete_subtree_whatever_its_passes(monkeypatch):
    """Passes of any size, each given the right edge the last one kept (the head row
    holds it), or none (a database from before it): every stored node is the subtree
    it names, and a pass given the edge reads nothing."""
    import random

    from audit import tree

    store: dict[int, bytes] = {}
    chain: dict[int, str] = {}  # seq -> chain hash
    reads: list[str] = []

    class FakeSession:
        def execute(self, _stmt, rows):  # type: ignore[no-untyped-def]
            for row in rows:
                assert row["key"] not in store
                store[row["key"]] = row["hash"]

    def event_leaves(_session, lo, hi):  # type: ignore[no-untyped-def]
        reads.append("leaves")
        return [tree.leaf_of(chain[s]) for s in range(lo + 1, hi + 1)]

    def stored(_session, keys):  # type: ignore[no-untyped-def]
        reads.append("nodes")
        return {k: store[k] for k in keys if k in store}

    monkeypatch.setattr(tree, "_event_leaves", event_leaves)
    monkeypatch.setattr(tree, "_stored", stored)
    rng = random.Random(4)
    session, size, leaves, edge = FakeSession(), 0, [], None
    reads_with_edge = 0
    while size < 5000:
        n = rng.choice([1, 1, 1, 2, 3, 17, 64, 300])
        hashes = [hashlib.sha256(f"{size + i}".encode()).hexdigest() for i in range(n)]
        for i, h in enumerate(hashes):
            chain[size + i + 1] = h
        given = None if rng.random() < 0.1 else edge
        if rng.random() < 0.05 and edge is not None:
            given = (size + 16).to_bytes(8, "big") + edge[8:]  # an edge kept at another size
        before, trusted = len(reads), given is not None and given[:8] == size.to_bytes(8, "big")
        new = [tree.leaf_of(h) for h in hashes]
        size, edge = tree.extend(session, size, new, given)
        leaves += new
        if trusted:
            reads_with_edge += len(reads) - before
    assert reads_with_edge == 0  # a pass given its edge reads nothing
    for key, value in store.items():
        level, index = key >> 48, key & ((1 << 48) - 1)
        assert value == merkle.root_of(leaves[index << level:(index + 1) << level])
    assert len(store) == sum(size >> level for level in range(4, 20))
