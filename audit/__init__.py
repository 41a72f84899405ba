"""The audit trail: append to the hash chain, verify it, query and export it."""
