"""Coordination between server processes: wake-ups (and, beside them, flow-control counters), each
with a Redis implementation and a PostgreSQL one behind the same interface."""
