"""The SDK driver: signed HTTP calls to apps, answers turned into outcomes.

httpx's API on aiohttp's transport: plain httpx caps near 700 calls/s on these machines while
the aiohttp transport keeps the API and removes most of the client CPU (BASELINE.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import httpx
from httpx_aiohttp import AiohttpTransport

from inngest.protocol import call, outcome


@dataclass(frozen=True, slots=True)
class CallResult:
    outcome: outcome.Outcome
    status_code: int | None
    request_version: int | None
    duration_s: float


def make_client(*, timeout_s: float, max_connections: int) -> httpx.AsyncClient:
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    return httpx.AsyncClient(
        transport=AiohttpTransport(limits=limits),
        timeout=httpx.Timeout(timeout_s, connect=10.0),
        follow_redirects=False,
    )


async def send(client: httpx.AsyncClient, prepared: call.PreparedCall, now: datetime) -> CallResult:
    """POST one call; network failures and timeouts become retriable failures, never raise."""
    started = time.perf_counter()
    try:
        response = await client.post(prepared.url, content=prepared.body, headers=prepared.headers)
        body = response.content
    except httpx.HTTPError as exc:
        failure = outcome.transport_failure(f"{type(exc).__name__}: {exc or 'request failed'}")
        return CallResult(failure, None, None, time.perf_counter() - started)
    parsed, version = outcome.parse_response(response.status_code, response.headers, body, now)
    return CallResult(parsed, response.status_code, version, time.perf_counter() - started)
