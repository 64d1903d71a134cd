"""The single write path for events: store, start triggered runs, queue their first calls."""
