"""The REST API under /api/v1: apps, functions, events, runs and re-runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from pydantic import BaseModel, ConfigDict, Field

from inngest.api import auth, sdk, v1
from inngest.api import errors as http
from inngest.api.deps import Deps
from inngest.api.sync import put_app
from inngest.engine.run import RunStatus
from inngest.errors import NotFound, ValidationError
from inngest.ingest import cancel
from inngest.ingest import events as ingest
from inngest.protocol import register
from inngest.queue import ops as queue
from inngest.store import apps, events, functions, pauses, runs

MAX_PAGE = 200
# Options that POST /api/v1/functions builds itself and an `options` object may not override.
_RESERVED_OPTIONS = frozenset({"id", "name", "triggers", "steps"})


class AppSyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(description="The app's serve URL, e.g. http://127.0.0.1:3000/api/inngest")


class TriggerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event: str | None = None
    cron: str | None = None
    expression: str | None = None


class FunctionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1)
    name: FromQuery[str | None] = None
    triggers: list[TriggerIn] = Field(min_length=1)
    retries: int | None = Field(default=None, ge=0, le=20)
    options: dict[str, Any] | None = Field(
        default=None,
        description="Further Inngest function options as the SDKs send them: concurrency, "
        "throttle, rateLimit, idempotency, priority, singleton, debounce, batchEvents, cancel, "
        "timeouts.",
    )


class FunctionsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(description="Serve URL of the app that runs these functions")
    app: str | None = Field(default=None, description="App id; derived from the URL if absent")
    functions: list[FunctionIn] = Field(min_length=1)


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(f"url must be an http(s) URL, got {url!r}", "url")
    return url


@get("/apps", summary="List synced apps")
async def list_apps(deps: Deps) -> dict[str, Any]:
    async with deps.pool.connection() as conn:
        return {"data": await apps.list_all(conn)}


@post("/apps", summary="Sync an app by URL (the server PUTs to it)", status_code=http.OK)
async def sync_app(data: JSONBody[AppSyncRequest], deps: Deps) -> Response[Any]:
    reply = await put_app(deps, _check_url(data.url))
    if not reply.ok:
        return Response(
            http.error_body(
                http.BAD_GATEWAY,
                reply.error or "sync failed",
                app_status=reply.status_code,
                app_response=reply.body,
            ),
            status_code=http.BAD_GATEWAY,
        )
    async with deps.pool.connection() as conn:
        listed = [a for a in await apps.list_all(conn) if a["url"] == data.url]
    return Response({"data": listed[0] if listed else None, "app_response": reply.body})


@get("/functions", summary="List functions with run counts, error rate and latency percentiles")
async def list_functions(
    deps: Deps,
    window_h: Annotated[
        float, QueryParameter(gt=0, le=24 * 90, description="stats window, hours")
    ] = 24,
    archived: FromQuery[bool] = False,
) -> dict[str, Any]:
    since = deps.clock.now() - timedelta(hours=window_h)
    async with deps.pool.connection() as conn:
        rows = await functions.list_with_stats(conn, since=since, include_archived=archived)
    for row in rows:
        ended = row["completed"] + row["failed"]
        row["error_rate"] = (row["failed"] / ended) if ended else 0.0
        row["triggers"] = row["config"].get("triggers", [])
    return {"data": rows, "window_hours": window_h}


@post(
    "/functions",
    summary="Register functions served at a URL, without an SDK sync",
    status_code=http.OK,
)
async def register_functions(data: JSONBody[FunctionsRequest], deps: Deps) -> dict[str, Any]:
    url = _check_url(data.url)
    parts = urlsplit(url)
    app_name = data.app or f"{parts.hostname}-{parts.port or ''}{parts.path}".strip("-/")
    body = {
        "appName": app_name,
        "url": url,
        "sdk": "api:v1",
        "framework": "api",
        "functions": [
            {
                "id": fn.id,
                "name": fn.name or fn.id,
                "triggers": [t.model_dump(exclude_none=True) for t in fn.triggers],
                "steps": {
                    "step": {
                        "id": "step",
                        "name": "step",
                        "runtime": {
                            "type": "http",
                            "url": f"{url}{'&' if '?' in url else '?'}"
                            + urlencode({"fnId": fn.id, "stepId": "step"}),
                        },
                        **({"retries": {"attempts": fn.retries}} if fn.retries is not None else {}),
                    }
                },
                **{k: v for k, v in (fn.options or {}).items() if k not in _RESERVED_OPTIONS},
            }
            for fn in data.functions
        ],
    }
    app = register.parse_register(body)
    return {"data": await sdk.store_sync(deps, app)}


@post("/events", summary="Send events (same body as /e/{key})", status_code=http.OK)
async def post_events(request: Request[Any, Any, Any], deps: Deps) -> dict[str, Any]:
    ids = await sdk.ingest_body(
        deps, await request.body(), request.headers.get("x-inngest-event-id-seed")
    )
    return {"ids": ids, "status": http.OK}


@get("/events", summary="List stored events, newest first")
async def list_events(
    deps: Deps,
    name: FromQuery[str | None] = None,
    cursor: FromQuery[str | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 50,
) -> dict[str, Any]:
    async with deps.pool.connection() as conn:
        rows = await events.list_page(conn, name=name, cursor=cursor, limit=limit)
    return {"data": rows, "next_cursor": rows[-1]["internal_id"] if len(rows) == limit else None}


@get("/events/{event_id:str}", summary="One stored event")
async def get_event(deps: Deps, event_id: FromPath[str]) -> dict[str, Any]:
    async with deps.pool.connection() as conn:
        row = await events.get(conn, event_id)
    if row is None:
        raise NotFound("event", event_id)
    return {"data": row}


@get("/runs", summary="List runs, newest first (cursor pagination)")
async def list_runs(
    deps: Deps,
    status: FromQuery[RunStatus | None] = None,
    function: Annotated[str | None, QueryParameter(description="function slug")] = None,
    event_id: Annotated[str | None, QueryParameter(description="internal event id")] = None,
    cursor: FromQuery[str | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 50,
) -> dict[str, Any]:
    async with deps.pool.connection() as conn:
        rows = await runs.list_page(
            conn,
            status=status.value if status else None,
            function_slug=function,
            event_id=event_id,
            cursor=cursor,
            limit=limit,
        )
    return {"data": rows, "next_cursor": rows[-1]["id"] if len(rows) == limit else None}


@get("/runs/{run_id:str}", summary="A run with its steps, attempts, timings and errors")
async def get_run(deps: Deps, run_id: FromPath[str]) -> dict[str, Any]:
    async with deps.pool.connection() as conn:
        run = await runs.get(conn, run_id)
        if run is None:
            raise NotFound("run", run_id)
        run["pauses"] = await pauses.for_run(conn, run_id)
        run["queued"] = await queue.partition_items(conn, run_id)
    run["waiting_for"] = waiting_for(run, deps.clock.now())
    return {"data": run}


def waiting_for(run: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    """Why a run that has not ended is not progressing right now, in plain words."""
    if run["status"] in ("Completed", "Failed", "Cancelled", "Skipped"):
        return []
    reasons: list[dict[str, Any]] = []
    for pause in run["pauses"]:
        if pause["kind"] == "wait":
            reasons.append(
                {
                    "reason": "waiting for event",
                    "event": pause["event_name"],
                    "step": pause["step_name"],
                    "until": pause["expires_at"],
                }
            )
        elif pause["kind"] == "invoke":
            reasons.append(
                {
                    "reason": "waiting for invoked function",
                    "step": pause["step_name"],
                    "until": pause["expires_at"],
                }
            )
    for item in run["queued"]:
        gate = item.get("gate_key")
        if gate and not item["leased"]:
            reason = "throttled" if gate.startswith("t:") else "concurrency limit reached"
            reasons.append({"reason": reason, "key": gate, "until": item["available_at"]})
        elif item["leased"]:
            reasons.append({"reason": "calling the SDK", "kind": item["kind"]})
        elif item["kind"] == "wake":
            reasons.append(
                {
                    "reason": "sleeping",
                    "step": item["payload"].get("name"),
                    "until": item["available_at"],
                }
            )
        elif item["available_at"] > now and item["attempt"] > 0:
            reasons.append(
                {
                    "reason": "retry backoff",
                    "attempt": item["attempt"],
                    "until": item["available_at"],
                }
            )
        elif item["kind"] in ("call", "planned", "resume") and item["available_at"] <= now:
            reasons.append({"reason": "queued", "kind": item["kind"]})
        elif item["kind"] == "call" and item["attempt"] == 0:
            reasons.append(
                {
                    "reason": "queued behind other functions' runs (fair share)",
                    "until": item["available_at"],
                }
            )
    return reasons


@post(
    "/runs/{run_id:str}/rerun",
    summary="Start a new run with the same events",
    status_code=http.CREATED,
)
async def rerun(deps: Deps, run_id: FromPath[str]) -> dict[str, Any]:
    async with deps.pool.connection() as conn, conn.transaction():
        run = await runs.get(conn, run_id)
        if run is None:
            raise NotFound("run", run_id)
        fn = await functions.by_slug(conn, run["function_slug"])
        if fn is None or fn["archived_at"] is not None:
            raise ValidationError(f"function {run['function_slug']!r} is archived", "run_id")
        state = await runs.load_for_call(conn, run_id)
        new_id = await ingest.rerun(
            conn,
            original_run_id=run_id,
            function_id=fn["id"],
            version=fn["version"],
            config=fn["config"],
            events=state.events if state else (),
            event_ids=run["event_ids"],
            now=deps.clock.now(),
        )
    await deps.wakeups.notify()
    return {"data": {"id": new_id, "original_run_id": run_id}}


@post("/runs/{run_id:str}/cancel", summary="Cancel a run", status_code=http.OK)
async def cancel_run(deps: Deps, run_id: FromPath[str]) -> dict[str, Any]:
    async with deps.pool.connection() as conn, conn.transaction():
        cancelled = await cancel.cancel_run(conn, run_id, reason="api", now=deps.clock.now())
        run = await runs.get(conn, run_id)
    await deps.wakeups.notify()
    assert run is not None
    return {"data": {"id": run_id, "cancelled": cancelled, "status": run["status"]}}


@post(
    "/cancellations", summary="Cancel a function's active runs in a time range", status_code=http.OK
)
async def bulk_cancel(data: JSONBody[v1.BulkCancel], deps: Deps) -> dict[str, Any]:
    count = await v1.bulk_cancel(deps, data, reason="bulk cancellation")
    return {"data": {"cancelled": count}}


router = Router(
    path="/api/v1",
    route_handlers=[
        list_apps,
        sync_app,
        list_functions,
        register_functions,
        post_events,
        list_events,
        get_event,
        list_runs,
        get_run,
        rerun,
        cancel_run,
        bulk_cancel,
    ],
    before_request=auth.require_signing_key,
    tags=["rest"],
)
