"""Endpoints the official SDKs call: register, send events, fetch run data (`use_api`)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath

from inngest.api import auth
from inngest.api import errors as http
from inngest.api.deps import ApiDeps, Deps
from inngest.clock import to_ms
from inngest.engine.cron import parse as parse_cron
from inngest.errors import NotFound, ValidationError
from inngest.expr import compile_expression
from inngest.ingest import cron
from inngest.ingest import events as ingest
from inngest.protocol import durations, events, register, signing
from inngest.store import apps, runs

log = logging.getLogger(__name__)


def check_server_kind(request: Request[Any, Any, Any], deps: Deps) -> str | None:
    expected = request.headers.get("x-inngest-expected-server-kind")
    if expected and expected != deps.settings.personality:
        return f"Expected server kind {expected}, got {deps.settings.personality}"
    return None


def validate_expressions(app: register.AppSync) -> None:
    """Reject a sync whose expressions or durations are invalid, naming function and field.

    Checking at sync means a bad expression is a clear 400 for the developer instead of a
    silent non-match (or a failed event send) later.
    """
    for fn in app.functions:
        for path, source in _expressions(fn.config):
            try:
                compile_expression(source)
            except ValidationError as exc:
                raise ValidationError(
                    f"function {fn.slug!r} {path}: {exc.message}", f"{fn.slug}.{path}"
                ) from exc
        for path, source in _crons(fn.config):
            try:
                parse_cron(source)
            except ValidationError as exc:
                raise ValidationError(
                    f"function {fn.slug!r} {path}: invalid cron expression {source!r}: "
                    f"{exc.message}",
                    f"{fn.slug}.{path}",
                ) from exc
        for path, value in _durations(fn.config):
            try:
                durations.parse_duration(value)
            except ValidationError as exc:
                raise ValidationError(
                    f"function {fn.slug!r} {path}: invalid duration {value!r}", f"{fn.slug}.{path}"
                ) from exc


def _expressions(config: dict[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for index, trigger in enumerate(config.get("triggers") or []):
        if isinstance(trigger, dict) and isinstance(trigger.get("expression"), str):
            found.append((f"triggers[{index}].expression", trigger["expression"]))
    for index, entry in enumerate(config.get("cancel") or []):
        if isinstance(entry, dict) and isinstance(entry.get("if"), str) and entry["if"]:
            found.append((f"cancel[{index}].if", entry["if"]))
    for field, keys in (("batchEvents", ("key", "if")), ("debounce", ("key",))):
        section = config.get(field)
        if not isinstance(section, dict):
            continue
        for key in keys:
            if isinstance(section.get(key), str) and section[key]:
                found.append((f"{field}.{key}", section[key]))
    return found


def _crons(config: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (f"triggers[{index}].cron", trigger["cron"])
        for index, trigger in enumerate(config.get("triggers") or [])
        if isinstance(trigger, dict) and isinstance(trigger.get("cron"), str)
    ]


def _durations(config: dict[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for index, trigger in enumerate(config.get("triggers") or []):
        if isinstance(trigger, dict) and isinstance(trigger.get("jitter"), str):
            found.append((f"triggers[{index}].jitter", trigger["jitter"]))
    timeouts = config.get("timeouts")
    if isinstance(timeouts, dict):
        for key in ("start", "finish"):
            if isinstance(timeouts.get(key), str) and timeouts[key]:
                found.append((f"timeouts.{key}", timeouts[key]))
    for field, keys in (("debounce", ("period", "timeout")), ("batchEvents", ("timeout",))):
        section = config.get(field)
        if not isinstance(section, dict):
            continue
        for key in keys:
            if isinstance(section.get(key), str) and section[key]:
                found.append((f"{field}.{key}", section[key]))
    return found


async def store_sync(deps: Deps, app: register.AppSync) -> dict[str, Any]:
    validate_expressions(app)
    async with deps.pool.connection() as conn, conn.transaction():
        now = deps.clock.now()
        result = await apps.sync(conn, app, now)
        await cron.reconcile(conn, app, archived=result.archived, now=now)
    log.info(
        "app registered",
        extra={
            "action": "app.register",
            "app": app.app_name,
            "functions": len(app.functions),
            "modified": result.modified,
            "archived": list(result.archived),
        },
    )
    return {
        "ok": True,
        "status": http.OK,
        "modified": result.modified,
        "app_id": str(result.app_id),
        "sync_id": str(uuid.uuid4()),
    }


@post("/fn/register", include_in_schema=True, tags=["sdk"], status_code=http.OK)
async def fn_register(request: Request[Any, Any, Any], deps: Deps) -> Response[Any]:
    """Called by an SDK after we PUT its URL (TypeScript and Python dialects)."""
    mismatch = check_server_kind(request, deps)
    if mismatch:
        return Response(
            {"ok": False, "status": http.BAD_REQUEST, "error": mismatch},
            status_code=http.BAD_REQUEST,
        )
    if deps.keyed and not signing.bearer_ok(
        request.headers.get("authorization"), deps.signing_keys
    ):
        return Response(
            {"ok": False, "status": http.UNAUTHORIZED, "error": "Unauthorized"},
            status_code=http.UNAUTHORIZED,
        )
    try:
        app = register.parse_register(await request.body())
        return Response(await store_sync(deps, app), status_code=http.OK)
    except ValidationError as exc:
        return Response(
            {"ok": False, "status": http.BAD_REQUEST, "error": exc.message},
            status_code=http.BAD_REQUEST,
        )


async def ingest_body(deps: Deps, body: bytes, seed: str | None) -> list[str]:
    now = deps.clock.now()
    parsed = events.parse_events(body, now_ms=to_ms(now), seed=seed)
    async with deps.pool.connection() as conn, conn.transaction():
        result = await ingest.ingest(
            conn,
            parsed,
            now=now,
            dedup_window_s=deps.settings.event_dedup_window_s,
            limiter=deps.limits,
        )
    if result.run_ids:
        await deps.wakeups.notify()
    log.info(
        "events received",
        extra={
            "action": "events.ingest",
            "events": len(parsed),
            "runs": len(result.run_ids),
            "duplicates": result.skipped_duplicates,
        },
    )
    return [e.internal_id for e in parsed]


@post("/e/{event_key:str}", tags=["sdk"], status_code=http.OK)
async def send_events(
    request: Request[Any, Any, Any], deps: Deps, event_key: FromPath[str]
) -> Response[Any]:
    """The event API: one event object or an array; answers the internal ids."""
    if deps.keyed:
        if not deps.event_keys:
            return Response(
                http.error_body(http.UNAVAILABLE, "no event keys configured"),
                status_code=http.UNAVAILABLE,
            )
        if event_key not in deps.event_keys:
            return Response(
                {"status": http.UNAUTHORIZED, "message": "", "error": "Event key not found"},
                status_code=http.UNAUTHORIZED,
            )
    try:
        ids = await ingest_body(
            deps, await request.body(), request.headers.get("x-inngest-event-id-seed")
        )
    except ValidationError as exc:
        return Response(
            {"ids": [], "status": http.BAD_REQUEST, "error": exc.message},
            status_code=http.BAD_REQUEST,
        )
    return Response({"ids": ids, "status": http.OK}, status_code=http.OK)


async def _run_state(deps: ApiDeps, run_id: str) -> runs.CallState:
    async with deps.pool.connection() as conn:
        state = await runs.load_for_call(conn, run_id)
    if state is None:
        raise NotFound("run", run_id)
    return state


@get("/runs/{run_id:str}/batch", tags=["sdk"])
async def run_batch(deps: Deps, run_id: FromPath[str]) -> list[dict[str, Any]]:
    """A run's triggering events, for calls made with `use_api`."""
    return [dict(e) for e in (await _run_state(deps, run_id)).events]


@get("/runs/{run_id:str}/actions", tags=["sdk"])
async def run_actions(deps: Deps, run_id: FromPath[str]) -> dict[str, Any]:
    """A run's memo (step id to recorded value), for calls made with `use_api`."""
    return dict((await _run_state(deps, run_id)).memo)


# What the SDKs fetch with `use_api` (§5.12); Bearer-checked like /v1 in self-hosted mode.
v0_router = Router(
    path="/v0",
    route_handlers=[run_batch, run_actions],
    before_request=auth.require_signing_key,
    tags=["sdk"],
)

ROUTES: list[Any] = [fn_register, send_events, v0_router]
