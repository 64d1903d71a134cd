"""Syncing an app: PUT its serve URL; the SDK answers by POSTing /fn/register to us."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from inngest.api.deps import ApiDeps
from inngest.config import signing_key_text
from inngest.protocol import call
from inngest.store import apps

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SyncReply:
    ok: bool
    status_code: int | None
    body: Any
    error: str | None


async def put_app(deps: ApiDeps, url: str) -> SyncReply:
    """Ask the app at ``url`` to register itself; never raises for the app's failures."""
    prepared = call.build_sync_put(
        url,
        server_kind=call.ServerKind(deps.settings.personality),
        signing_key=signing_key_text(deps.settings),
        now_s=int(deps.clock.now().timestamp()),
    )
    try:
        response = await deps.client.put(
            prepared.url, content=prepared.body, headers=prepared.headers, timeout=30.0
        )
    except httpx.HTTPError as exc:
        reply = SyncReply(False, None, None, f"could not reach {url}: {type(exc).__name__} {exc}")
    else:
        reply = _judge(url, response)
    if not reply.ok:
        log.warning(
            "app sync failed", extra={"action": "app.sync_failed", "url": url, "error": reply.error}
        )
        async with deps.pool.connection() as conn:
            await apps.record_error(conn, url, reply.error or "sync failed")
    else:
        log.info("app synced", extra={"action": "app.synced", "url": url})
    return reply


def _judge(url: str, response: httpx.Response) -> SyncReply:
    try:
        body: Any = json.loads(response.content) if response.content else None
    except ValueError:
        body = response.text[:500]
    if "x-inngest-sdk" not in response.headers and response.status_code != 200:
        return SyncReply(
            False,
            response.status_code,
            body,
            f"{url} answered {response.status_code} and is not an Inngest SDK endpoint",
        )
    if response.status_code >= 300:
        return SyncReply(
            False,
            response.status_code,
            body,
            f"{url} answered {response.status_code}: {_message(body)}",
        )
    # PY answers 200 with our register reply verbatim, even when that reply was an error.
    if isinstance(body, dict) and (body.get("ok") is False or body.get("error")):
        return SyncReply(False, response.status_code, body, f"{url}: {_message(body)}")
    return SyncReply(True, response.status_code, body, None)


def _message(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("error", "message"):
            if body.get(key):
                return str(body[key])
    return str(body)[:300]
