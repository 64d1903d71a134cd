"""The Bearer check of self-hosted mode, shared by every route group that needs it."""

from __future__ import annotations

from typing import Any

from litestar import Request

from inngest.api.deps import ApiDeps
from inngest.errors import Unauthorized
from inngest.protocol import signing


async def require_signing_key(request: Request[Any, Any, Any]) -> None:
    """Self-hosted: the caller shows the signing key (or its hash) as a Bearer token, as the
    SDKs do (PROTOCOL.md §2.4). A `before_request` hook; dev mode lets everyone in."""
    deps: ApiDeps = request.app.state.deps
    if deps.keyed and not signing.bearer_ok(
        request.headers.get("authorization"), deps.signing_keys
    ):
        raise Unauthorized("Authorization: Bearer <signing key> required")
