"""Alembic migrations for ParkGate (see parkgate.migrate for the programmatic entry)."""
