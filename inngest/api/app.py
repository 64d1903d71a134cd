"""Builds the Litestar application: routes, error handlers, OpenAPI docs at /docs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Litestar, Response, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.enums import ScopeType
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.types import ASGIApp, Message, Receive, Scope, Send

import inngest
from inngest.api import errors, rest, sdk, v1
from inngest.api.deps import ApiDeps, Deps


@get("/health", tags=["ops"], summary="Database and Redis status")
async def health(deps: Deps) -> Response[Any]:
    checks: dict[str, Any] = {}
    healthy = True
    try:
        async with deps.pool.connection() as conn:
            await conn.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        healthy = False
        checks["database"] = f"error: {type(exc).__name__}"
    if deps.redis_ping is not None:
        try:
            ok = await deps.redis_ping()  # type: ignore[operator]
            checks["redis"] = "ok" if ok else "error"
            healthy = healthy and bool(ok)
        except Exception as exc:
            healthy = False
            checks["redis"] = f"error: {type(exc).__name__}"
    else:
        checks["redis"] = "not configured (PostgreSQL fallback)"
    status = errors.OK if healthy else errors.UNAVAILABLE
    return Response(
        {"status": status, "message": "OK" if healthy else "unhealthy", "checks": checks},
        status_code=status,
    )


def server_kind_middleware(kind: str) -> Callable[[ASGIApp], ASGIApp]:
    """Adds X-Inngest-Server-Kind to every response; the SDKs compare it with their mode
    (PROTOCOL.md §2.6). A middleware, not an after_request hook: route handlers are module
    objects shared by every app in the process, and hooks are resolved onto them once."""
    header = (b"x-inngest-server-kind", kind.encode())

    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return

            async def send_with_kind(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", []), header]}
                await send(message)

            await app(scope, receive, send_with_kind)

        return middleware

    return wrap


def create_app(deps: Deps) -> Litestar:
    kind = deps.settings.personality

    async def provide_deps() -> ApiDeps:
        return deps

    return Litestar(
        route_handlers=[health, *sdk.ROUTES, rest.router, v1.router],
        dependencies={"deps": Provide(provide_deps)},
        exception_handlers=errors.HANDLERS,
        middleware=[server_kind_middleware(kind)],
        state=State({"deps": deps}),
        request_max_body_size=deps.settings.api.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Inngest-compatible server",
            version=inngest.__version__,
            description="SDK endpoints (/fn/register, /e/{key}, /v0) and the REST API (/api/v1).",
            path="/docs",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
        debug=False,
        # Our own logging (inngest.logs) is configured once by the server; keep Litestar out.
        logging_config=None,
    )
