"""The kernel every package may use: the clock, domain errors, the unit of work, domain
events and their handlers (messages), the bus that tells pages after commit, and a
small cache. It imports no feature package and nothing of the web shell (parkgate/):
features register what the kernel must call (the audit's writer, the lot's handlers of
trip events) when they are imported."""
