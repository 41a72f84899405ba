"""The hazmat lot: check-in, zoning by hazard class, queues per plant, releases."""
