"""The embedded demo: a realistic park seeded relative to today, a simulated camera
and trucks that book, queue and get released."""
