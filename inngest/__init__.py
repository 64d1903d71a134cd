"""A self-hostable durable-execution server that speaks the Inngest protocol."""

__version__ = "0.1.0"
