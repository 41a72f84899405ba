"""The gate: decisions from plate reads, the booth console, and the offline gate agent."""
