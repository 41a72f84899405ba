"""Database-side pieces of the audit trail that Alembic cannot autogenerate."""

from __future__ import annotations

from typing import Any

GENESIS = "0" * 64


def create_append_only_triggers(op: Any) -> None:
    """The audit trail is append-only: the database itself refuses UPDATE and DELETE."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END
            $$ LANGUAGE plpgsql
        """)
        op.execute("""
            CREATE TRIGGER audit_events_append_only
            BEFORE UPDATE OR DELETE ON audit_events
            FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
        """)
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER audit_events_no_{verb.lower()}
                BEFORE {verb} ON audit_events
                BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END
            """)


def drop_append_only_triggers(op: Any) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")


def seed_audit_head(op: Any) -> None:
    from sqlalchemy import text

    op.execute(text("INSERT INTO audit_head (id, seq, prev_hash, hash) VALUES (1, 0, :g, :g)")
               .bindparams(g=GENESIS))
