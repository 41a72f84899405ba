"""Check an audit export against a signed checkpoint, with no database.

    python -m audit.offline EXPORT.csv|.xlsx --checkpoint CHECKPOINT.json \\
        --public-key KEY [--filtered]

Every row's hash must match its content and its stated predecessor; consecutive rows
must link; seq must only grow; and the row at the checkpoint's position must carry
the hash the park signed. An export of a whole range has no gaps, so a missing row
is an error; a filtered export (`--filtered`) has gaps by design, and then only the
rows present can be vouched for. Exit 0 when the file checks, 1 when it does not.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from parkgate.signing import SignatureRejected
from parkgate.signing import verify as verify_signature

from .chain import BODY_COLUMNS, GENESIS_HASH, body, link
from .export import instant, read_rows

CHECKPOINT_KIND = "parkgate.audit.checkpoint"


@dataclass
class OfflineResult:
    ok: bool = True
    rows: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    gaps: int = 0
    anchored: bool = False
    bad_seq: int | None = None
    problem: str | None = None
    notes: list[str] = field(default_factory=list)

    def fail(self, seq: int | None, problem: str) -> OfflineResult:
        self.ok, self.bad_seq, self.problem = False, seq, problem
        return self


def checkpoint_body(envelope: dict[str, Any], public_key: str) -> dict[str, Any]:
    """The signed statement, or SignatureRejected / ValueError."""
    signed = verify_signature(envelope, public_key)
    if signed.get("kind") != CHECKPOINT_KIND:
        raise ValueError("not an audit checkpoint")
    return signed


def verify_rows(rows: Iterable[dict[str, str | None]], checkpoint: dict[str, Any] | None,
                *, filtered: bool = False) -> OfflineResult:
    result = OfflineResult()
    prev_seq: int | None = None
    prev_hash: str | None = None
    for row in rows:
        try:
            seq = int(row["seq"] or "")
            at_us = int(row["at_us"] or "")
        except ValueError:
            return result.fail(prev_seq, f"row {result.rows + 1}: seq or at_us is not a number")
        at = instant(at_us)
        if row["at"] is None or datetime.fromisoformat(row["at"]) != at:
            return result.fail(seq, "its readable time does not match the hashed one (edited)")
        stated_prev, stored = row["prev_hash"] or "", row["hash"] or ""
        if link(stated_prev, body(seq, at, (row[c] for c in BODY_COLUMNS))) != stored:
            return result.fail(seq, "content does not match its hash (edited)")
        if prev_seq is None:
            result.first_seq = seq
            if seq == 1 and stated_prev != GENESIS_HASH:
                return result.fail(seq, "the first event does not start the chain")
        elif seq <= prev_seq:
            return result.fail(seq, f"comes after #{prev_seq} (re-ordered or duplicated)")
        elif seq == prev_seq + 1:
            if stated_prev != prev_hash:
                return result.fail(seq, "does not link to the row before it "
                                        "(inserted, re-ordered or edited)")
        elif filtered:
            result.gaps += 1
        else:
            return result.fail(seq, f"rows #{prev_seq + 1}–#{seq - 1} are missing")
        if checkpoint is not None and seq == checkpoint["seq"]:
            if stored != checkpoint["hash"]:
                return result.fail(seq, "does not match the signed checkpoint")
            result.anchored = True
        prev_seq, prev_hash = seq, stored
        result.rows += 1
    result.last_seq = prev_seq
    if result.rows == 0:
        return result.fail(None, "the export holds no rows")
    if checkpoint is not None and not result.anchored:
        return result.fail(None, f"the export does not contain the checkpoint's event "
                                 f"#{checkpoint['seq']}")
    if checkpoint is not None and result.last_seq and result.last_seq > checkpoint["seq"]:
        result.notes.append(f"rows after #{checkpoint['seq']} are linked to the checkpoint "
                            "but only a later checkpoint can vouch for them")
    if result.gaps:
        result.notes.append(f"filtered export: {result.gaps} gap(s); rows left out of it "
                            "cannot be seen from the file")
    return result


def _public_key(value: str) -> str:
    path = Path(value)
    return path.read_text().strip() if path.is_file() else value.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m audit.offline",
                                     description="Check an audit export against a signed "
                                                 "checkpoint, without the database.")
    parser.add_argument("export", help="the CSV or XLSX export")
    parser.add_argument("--checkpoint", required=True, help="the checkpoint JSON file")
    parser.add_argument("--public-key", required=True,
                        help="the park's Ed25519 public key (base64) or a file holding it")
    parser.add_argument("--filtered", action="store_true",
                        help="the export is of a filtered query: gaps are expected")
    args = parser.parse_args(argv)
    try:
        envelope = json.loads(Path(args.checkpoint).read_text(encoding="utf-8"))
        signed = checkpoint_body(envelope, _public_key(args.public_key))
    except (OSError, ValueError, SignatureRejected) as exc:
        print(f"checkpoint REJECTED: {exc}", file=sys.stderr)
        return 1
    try:
        result = verify_rows(read_rows(args.export), signed, filtered=args.filtered)
    except (OSError, ValueError, KeyError) as exc:
        print(f"export UNREADABLE: {exc}", file=sys.stderr)
        return 1
    if not result.ok:
        where = f" at event #{result.bad_seq}" if result.bad_seq is not None else ""
        print(f"export REJECTED{where}: {result.problem}", file=sys.stderr)
        return 1
    print(f"export OK: {result.rows} events #{result.first_seq}–#{result.last_seq}, "
          f"checkpoint #{signed['seq']} of {signed['at']} matches")
    for note in result.notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
