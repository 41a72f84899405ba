"""Check an audit export against a signed checkpoint, or two checkpoints against each
other, with no database.

    python -m audit.offline EXPORT.csv|.xlsx --checkpoint CHECKPOINT --public-key KEY
    python -m audit.offline consistency OLD NEW --proof PROOF.json --public-key KEY
    python -m audit.offline receipt RECEIPT.json --public-key KEY

Every row's hash must match its content (its trip back-link included). Then:

- An *excerpt* (a filtered export: its preamble names the filter) carries each row's
  Merkle audit path: every row up to the checkpoint must be proven against the signed
  root, rows must match the stated filter and come in chain order; in a trip's
  excerpt each row's back-link must name the row before it, and the first must be
  the trip's first event — so an edited, inserted, re-ordered or missing row fails,
  named. Rows after the checkpoint are reported as not yet vouched for.
- A whole or ranged export is a run of the chain: consecutive rows must link, seq
  must only grow without gaps, and the row at the checkpoint's position must carry
  the chain hash the park signed. (`--filtered`: an export from before excerpts
  existed, with gaps by design; only the rows present can be vouched for.)

`consistency` checks that the tree the NEW checkpoint signs extends the OLD one's
(nothing before it rewritten), given the proof the park's API or CLI hands out.
Exit 0 when everything checks, 1 when not.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from parkgate.signing import SignatureRejected

from . import merkle
from .chain import BODY_COLUMNS, GENESIS_HASH, body, link
from .export import instant, read_export
from .heads import CHECKPOINT_KIND, SignedHead, open_checkpoint

__all__ = ["CHECKPOINT_KIND", "main", "verify_consistency", "verify_receipt", "verify_rows"]

# Filters an excerpt's rows can be held to from their own cells.
_CHECKABLE = {"trip_id", "lane_id", "enterprise_id", "plate", "action", "seq_from",
              "seq_to", "since", "until", "passage"}


@dataclass
class OfflineResult:
    ok: bool = True
    rows: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    gaps: int = 0
    anchored: bool = False
    proven: int = 0
    bad_seq: int | None = None
    problem: str | None = None
    notes: list[str] = field(default_factory=list)

    def fail(self, seq: int | None, problem: str) -> OfflineResult:
        self.ok, self.bad_seq, self.problem = False, seq, problem
        return self


def _int(value: str | None) -> int | None:
    return None if value is None or value == "" else int(value)


def _leaf(chain_hash: str) -> bytes:
    return merkle.leaf_hash(bytes.fromhex(chain_hash))


def _filter_problem(row: dict[str, str | None], at: datetime, seq: int,
                    wanted: dict[str, str]) -> str | None:
    """Which of the excerpt's filters this row does not meet, if any."""
    from rules.plates import normalise

    for key, value in wanted.items():
        if key in ("trip_id", "lane_id", "enterprise_id") and row[key] != value:
            return f"{key} is {row[key]}, the excerpt is of {key}={value}"
        if key == "passage" and (row["subject_kind"], row["subject_id"]) != ("passage", value):
            return f"it is about {row['subject_kind']} {row['subject_id']}, not passage {value}"
        if key == "plate" and row["plate"] != normalise(value):
            return f"plate is {row['plate']}, the excerpt is of plate {value}"
        if key == "action":
            action = row["action"] or ""
            if not (action.startswith(value[:-1]) if value.endswith("*") else action == value):
                return f"action is {action}, the excerpt is of action {value}"
        if (key == "seq_from" and seq < int(value)) or (key == "seq_to" and seq > int(value)):
            return f"#{seq} is outside the excerpt's range"
        if (key == "since" and at < datetime.fromisoformat(value)) \
                or (key == "until" and at >= datetime.fromisoformat(value)):
            return f"{at.isoformat()} is outside the excerpt's time range"
    return None


def verify_rows(rows: Iterable[dict[str, str | None]], checkpoint: SignedHead | None,
                *, filtered: bool = False, meta: dict[str, str] | None = None) -> OfflineResult:
    meta = meta or {}
    wanted: dict[str, str] = json.loads(meta.get("filter") or "{}")
    excerpt = bool(wanted)
    result = OfflineResult()
    if excerpt:
        if checkpoint is None or checkpoint.root is None:
            return result.fail(None, "an excerpt is proven against a tree head; this "
                                     "checkpoint is from before the Merkle tree")
        if _int(meta.get("tree_size")) != checkpoint.seq:
            return result.fail(None, f"the excerpt's proofs are against the tree of "
                                     f"{meta.get('tree_size') or '?'} events, the checkpoint "
                                     f"signs {checkpoint.seq}: use that checkpoint, or prove "
                                     "this one extends it (consistency)")
        unchecked = sorted(set(wanted) - _CHECKABLE)
        if unchecked:
            result.notes.append("filter(s) " + ", ".join(unchecked) + " cannot be checked "
                                "from the rows alone")
    trip_excerpt = excerpt and set(wanted) == {"trip_id"}
    prev_seq: int | None = None
    prev_hash: str | None = None
    unproven = 0
    for row in rows:
        try:
            seq = int(row["seq"] or "")
            at_us = int(row["at_us"] or "")
            trip_prev = _int(row["trip_prev_leaf"])
        except ValueError:
            return result.fail(prev_seq, f"row {result.rows + 1}: seq, at_us or "
                                         "trip_prev_leaf is not a number")
        at = instant(at_us)
        if row["at"] is None or datetime.fromisoformat(row["at"]) != at:
            return result.fail(seq, "its readable time does not match the hashed one (edited)")
        stated_prev, stored = row["prev_hash"] or "", row["hash"] or ""
        if link(stated_prev, body(seq, at, (row[c] for c in BODY_COLUMNS), trip_prev)) != stored:
            return result.fail(seq, "content does not match its hash (edited)")
        if prev_seq is None:
            result.first_seq = seq
            if seq == 1 and stated_prev != GENESIS_HASH:
                return result.fail(seq, "the first event does not start the chain")
        elif seq <= prev_seq:
            return result.fail(seq, f"comes after #{prev_seq} (re-ordered or duplicated)")
        if excerpt:
            assert checkpoint is not None and checkpoint.root is not None
            problem = _filter_problem(row, at, seq, wanted)
            if problem:
                return result.fail(seq, f"does not belong in this excerpt: {problem}")
            if seq <= checkpoint.seq:
                try:
                    if _int(row["leaf_index"]) != seq - 1:
                        raise ValueError("leaf index")
                    path = [base64.b64decode(p, validate=True)
                            for p in (row["proof"] or "").split()]
                    reached = merkle.root_from_inclusion(seq - 1, checkpoint.seq,
                                                         _leaf(stored), path)
                except (ValueError, binascii.Error, merkle.ProofError):
                    reached = None
                if reached != checkpoint.root:
                    return result.fail(seq, "its inclusion proof does not lead to the signed "
                                            "root (edited, or not in the park's log)")
                result.proven += 1
            else:
                unproven += 1
            if trip_excerpt:
                before = None if prev_seq is None else prev_seq - 1
                if trip_prev is None and before is not None:
                    result.notes.append(f"#{seq} carries no back-link (recorded before "
                                        "back-links): the rows before it cannot be shown "
                                        "complete")
                elif trip_prev is not None and trip_prev != before:
                    missing = (f"the trip's events up to leaf {trip_prev} are missing"
                               if before is None else
                               f"its back-link names leaf {trip_prev}, the row before it is "
                               f"leaf {before}: a row of the trip is missing or inserted")
                    return result.fail(seq, missing)
        elif prev_seq is not None and seq == prev_seq + 1:
            if stated_prev != prev_hash:
                return result.fail(seq, "does not link to the row before it "
                                        "(inserted, re-ordered or edited)")
        elif prev_seq is not None and filtered:
            result.gaps += 1
        elif prev_seq is not None:
            return result.fail(seq, f"rows #{prev_seq + 1}–#{seq - 1} are missing")
        if not excerpt and checkpoint is not None and seq == checkpoint.seq:
            if stored != checkpoint.chain_hash:
                return result.fail(seq, "does not match the signed checkpoint")
            result.anchored = True
        prev_seq, prev_hash = seq, stored
        result.rows += 1
    result.last_seq = prev_seq
    if result.rows == 0:
        return result.fail(None, "the export holds no rows")
    if excerpt:
        result.anchored = result.proven > 0
        if unproven:
            result.notes.append(f"{unproven} row(s) after #{checkpoint.seq if checkpoint else 0} "
                                "are not covered by this checkpoint: a later one vouches "
                                "for them")
        return result
    if checkpoint is not None and not result.anchored:
        return result.fail(None, f"the export does not contain the checkpoint's event "
                                 f"#{checkpoint.seq}")
    if checkpoint is not None and result.last_seq and result.last_seq > checkpoint.seq:
        result.notes.append(f"rows after #{checkpoint.seq} are linked to the checkpoint "
                            "but only a later checkpoint can vouch for them")
    if result.gaps:
        result.notes.append(f"filtered export: {result.gaps} gap(s); rows left out of it "
                            "cannot be seen from the file")
    return result


def verify_consistency(old: SignedHead, new: SignedHead, proof: dict[str, Any]) -> str | None:
    """None when `proof` shows the tree `new` signs extends the one `old` signs, or
    what is wrong."""
    if old.root is None or new.root is None:
        return "both checkpoints must be tree heads (signed notes)"
    if proof.get("old_size") != old.seq or proof.get("new_size") != new.seq:
        return (f"the proof is from {proof.get('old_size')} to {proof.get('new_size')}, the "
                f"checkpoints sign {old.seq} and {new.seq}")
    try:
        path = [base64.b64decode(p, validate=True) for p in proof.get("proof", [])]
    except (binascii.Error, TypeError, ValueError):
        return "the proof's hashes are not base64"
    if not merkle.verify_consistency(old.seq, new.seq, old.root, new.root, path):
        return (f"the tree of {new.seq} does not extend the tree of {old.seq}: "
                "history before it was rewritten")
    return None


def verify_receipt(receipt: dict[str, Any], public_key: str) -> tuple[list[str], list[str]]:
    """A passage's receipt (audit.receipts): each event's row against the checkpoint
    it names. (problems, notes); no problems means every signed event checks."""
    from .export import decode

    problems: list[str] = []
    notes: list[str] = []
    passage = str(receipt.get("passage_id"))
    for entry in receipt.get("events") or []:
        where = f"event #{entry.get('seq')}"
        if not entry.get("checkpoint"):
            notes.append(f"{where} is not signed yet: fetch the receipt again after the next "
                         "checkpoint")
            continue
        try:
            signed = open_checkpoint(entry["checkpoint"]["note"], public_key)
            row = {k: decode(str(v)) for k, v in entry["row"].items()}
            row["leaf_index"] = str(entry["leaf_index"])
            row["proof"] = " ".join(entry["proof"])
        except (KeyError, TypeError, ValueError, SignatureRejected) as exc:
            problems.append(f"{where}: {exc}")
            continue
        result = verify_rows([row], signed, meta={
            "filter": json.dumps({"passage": passage}), "tree_size": str(signed.seq)})
        if not result.ok:
            problems.append(f"{where}: {result.problem}")
    if not receipt.get("events"):
        notes.append("the receipt names no event yet (the decision was being recorded)")
    return problems, notes


def _receipt_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m audit.offline receipt",
                                     description="Check a gate decision's receipt.")
    parser.add_argument("receipt", help="the receipt (JSON)")
    parser.add_argument("--public-key", required=True,
                        help="the park's Ed25519 public key (base64 or a verifier key) "
                             "or a file holding it")
    args = parser.parse_args(argv)
    try:
        receipt = json.loads(Path(args.receipt).read_text(encoding="utf-8"))
        problems, notes = verify_receipt(receipt, _public_key(args.public_key))
    except (OSError, ValueError, AttributeError) as exc:
        print(f"receipt UNREADABLE: {exc}", file=sys.stderr)
        return 1
    for problem in problems:
        print(f"receipt REJECTED: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"receipt OK: passage {receipt.get('passage_id')}, "
          f"{len(receipt.get('events') or []) - len(notes)} event(s) proven")
    for note in notes:
        print(f"note: {note}")
    return 0


def _public_key(value: str) -> str:
    path = Path(value)
    return path.read_text().strip() if path.is_file() else value.strip()


def _checkpoint(path: str, key: str) -> SignedHead:
    return open_checkpoint(Path(path).read_text(encoding="utf-8"), _public_key(key))


def _consistency_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m audit.offline consistency",
                                     description="Check that a later checkpoint's tree "
                                                 "extends an earlier one's.")
    parser.add_argument("old", help="the checkpoint kept earlier")
    parser.add_argument("new", help="the later checkpoint")
    parser.add_argument("--proof", required=True, help="the consistency proof (JSON)")
    parser.add_argument("--public-key", required=True,
                        help="the park's Ed25519 public key (base64 or a verifier key) "
                             "or a file holding it")
    args = parser.parse_args(argv)
    try:
        old, new = _checkpoint(args.old, args.public_key), _checkpoint(args.new, args.public_key)
        proof = json.loads(Path(args.proof).read_text(encoding="utf-8"))
    except (OSError, ValueError, SignatureRejected) as exc:
        print(f"checkpoint REJECTED: {exc}", file=sys.stderr)
        return 1
    problem = verify_consistency(old, new, proof)
    if problem:
        print(f"consistency REJECTED: {problem}", file=sys.stderr)
        return 1
    print(f"consistency OK: the tree of {new.seq} ({new.at}) extends the tree of "
          f"{old.seq} ({old.at})")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["consistency"]:
        return _consistency_main(argv[1:])
    if argv[:1] == ["receipt"]:
        return _receipt_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m audit.offline",
                                     description="Check an audit export against a signed "
                                                 "checkpoint, without the database.")
    parser.add_argument("export", help="the CSV or XLSX export")
    parser.add_argument("--checkpoint", required=True,
                        help="the checkpoint file (a signed note, or an older JSON one)")
    parser.add_argument("--public-key", required=True,
                        help="the park's Ed25519 public key (base64 or a verifier key) "
                             "or a file holding it")
    parser.add_argument("--filtered", action="store_true",
                        help="an export from before excerpts existed, of a filtered query: "
                             "gaps are expected")
    args = parser.parse_args(argv)
    try:
        signed = _checkpoint(args.checkpoint, args.public_key)
    except (OSError, ValueError, SignatureRejected) as exc:
        print(f"checkpoint REJECTED: {exc}", file=sys.stderr)
        return 1
    try:
        meta, rows = read_export(args.export)
        result = verify_rows(rows, signed, filtered=args.filtered, meta=meta)
    except (OSError, ValueError, KeyError) as exc:
        print(f"export UNREADABLE: {exc}", file=sys.stderr)
        return 1
    if not result.ok:
        where = f" at event #{result.bad_seq}" if result.bad_seq is not None else ""
        print(f"export REJECTED{where}: {result.problem}", file=sys.stderr)
        return 1
    what = (f"excerpt OK ({meta.get('filter')}): {result.proven} of {result.rows} events "
            "proven" if json.loads(meta.get("filter") or "{}")
            else f"export OK: {result.rows} events")
    print(f"{what} #{result.first_seq}–#{result.last_seq}, checkpoint #{signed.seq} of "
          f"{signed.at} matches")
    for note in result.notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
