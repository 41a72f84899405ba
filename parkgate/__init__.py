"""ParkGate application shell: configuration, clock, event bus, unit of work, web app.

Importing this package must stay cheap and free of Flask so that services, the gate
agent and benchmarks can use the clock, bus and unit of work on their own.
"""
