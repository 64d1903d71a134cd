"""Durable run state: apps and functions, events, runs and their step memo. Owns its SQL."""
