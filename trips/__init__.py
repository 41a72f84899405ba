"""The trip, the spine of ParkGate (DESIGN §1)."""
