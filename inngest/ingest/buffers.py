"""Debounce and batching: events held in rows until they become one run (PROTOCOL.md §6.10,
§6.11). Runs of functions without either pass straight through."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from inngest.db.pool import Conn
from inngest.ingest import flow


async def divert(conn: Conn, starts: Sequence[flow.Start], *, now: datetime) -> list[flow.Start]:
    """Take the starts of debounced or batched functions into their buffers; return the rest."""
    return list(starts)
