"""The runtime: claimer, executors, fenced commits, lease heartbeat, graceful shutdown."""
