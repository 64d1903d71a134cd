"""Inngest's `/v1` routes: the tooling REST API (§7.3) and TS checkpointing (§5.11)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, Response, Router, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from pydantic import BaseModel, ConfigDict, Field

from inngest.api import auth
from inngest.api import errors as http
from inngest.api.deps import Deps
from inngest.engine.run import RunStatus
from inngest.errors import NotFound, ValidationError
from inngest.ingest import cancel
from inngest.protocol import outcome, wire_json
from inngest.protocol.outcome import Opcode
from inngest.queue import ops as queue
from inngest.store import events, functions, runs

BULK_CANCEL_BATCH = 500


def _wrap(deps: Deps, data: JSONBody[Any]) -> dict[str, Any]:
    return {"data": data, "metadata": {"fetched_at": deps.clock.now().isoformat()}}


def function_run(run: dict[str, Any]) -> dict[str, Any]:
    """A run in the shape Inngest's `/v1` API gives (`FunctionRun`)."""
    shaped = {
        "run_id": run["id"],
        "run_started_at": run.get("started_at") or run.get("created_at"),
        "function_id": str(run.get("function_id") or ""),
        "function_version": run.get("function_version"),
        "environment_id": "",
        "event_id": (run.get("event_ids") or [None])[0],
        "status": run["status"],
        "ended_at": run.get("ended_at"),
        "output": run.get("output") if run["status"] != RunStatus.FAILED else run.get("error"),
    }
    if run.get("original_run_id"):
        shaped["original_run_id"] = run["original_run_id"]
    return shaped


@get("/events")
async def list_events(
    deps: Deps,
    limit: FromQuery[int] = 50,
    cursor: FromQuery[str | None] = None,
    name: FromQuery[str | None] = None,
) -> dict[str, Any]:
    async with deps.pool.connection() as conn:
        rows = await events.list_page(conn, name=name, cursor=cursor, limit=max(1, min(limit, 200)))
    return _wrap(deps, [_event(row) for row in rows])


def _event(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "internal_id": row["internal_id"],
        "account_id": "",
        "environment_id": "",
        "source": "",
        "source_id": "",
        "received_at": row["received_at"],
        "id": row["id"],
        "name": row["name"],
        "data": row["data"],
        "user": row["user"],
        "ts": row["ts"],
        "v": row["v"],
    }


@get("/events/{event_id:str}")
async def get_event(deps: Deps, event_id: FromPath[str]) -> dict[str, Any]:
    async with deps.pool.connection() as conn:
        row = await events.get(conn, event_id)
    if row is None:
        raise NotFound("event", event_id)
    return _wrap(deps, _event(row))


@get("/events/{event_id:str}/runs")
async def event_runs(deps: Deps, event_id: FromPath[str]) -> dict[str, Any]:
    async with deps.pool.connection() as conn:
        rows = await runs.list_page(
            conn, status=None, function_slug=None, event_id=event_id, cursor=None, limit=200
        )
    return _wrap(deps, [function_run(r) for r in rows])


@get("/runs/{run_id:str}")
async def get_run(deps: Deps, run_id: FromPath[str]) -> dict[str, Any]:
    async with deps.pool.connection() as conn:
        run = await runs.get(conn, run_id)
    if run is None:
        raise NotFound("run", run_id)
    return _wrap(deps, function_run(run))


@delete("/runs/{run_id:str}", status_code=http.OK)
async def cancel_run(deps: Deps, run_id: FromPath[str]) -> dict[str, Any]:
    async with deps.pool.connection() as conn, conn.transaction():
        cancelled = await cancel.cancel_run(conn, run_id, reason="api", now=deps.clock.now())
        run = await runs.get(conn, run_id)
    await deps.wakeups.notify()
    assert run is not None
    return _wrap(deps, {**function_run(run), "cancelled": cancelled})


@get("/runs/{run_id:str}/jobs")
async def run_jobs(deps: Deps, run_id: FromPath[str]) -> dict[str, Any]:
    async with deps.pool.connection() as conn:
        jobs = await queue.partition_items(conn, run_id)
    return _wrap(deps, jobs)


class BulkCancel(BaseModel):
    model_config = ConfigDict(extra="ignore")
    function_id: str = Field(description="function slug (composite id)")
    app_id: str | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None


async def bulk_cancel(deps: Deps, request: BulkCancel, *, reason: str) -> int:
    """Cancel a function's active runs in batches, each batch its own short transaction."""
    async with deps.pool.connection() as conn:
        if await functions.by_slug(conn, request.function_id) is None:
            raise NotFound("function", request.function_id)
    total = 0
    while True:
        async with deps.pool.connection() as conn, conn.transaction():
            ids = await runs.active_ids(
                conn,
                function_slug=request.function_id,
                created_after=request.started_after,
                created_before=request.started_before,
                limit=BULK_CANCEL_BATCH,
            )
            for run_id in ids:
                if await cancel.cancel_run(conn, run_id, reason=reason, now=deps.clock.now()):
                    total += 1
        if len(ids) < BULK_CANCEL_BATCH:
            break
    await deps.wakeups.notify()
    return total


@post("/cancellations", status_code=http.OK)
async def cancellations(data: JSONBody[BulkCancel], deps: Deps) -> dict[str, Any]:
    count = await bulk_cancel(deps, data, reason="bulk cancellation")
    return _wrap(deps, {"cancelled": count})


@get("/apps/{app_name:str}/functions")
async def app_functions(deps: Deps, app_name: FromPath[str]) -> dict[str, Any]:
    async with deps.pool.connection() as conn:
        rows = await functions.list_with_stats(conn, since=deps.clock.now())
    selected = [r for r in rows if r["app_name"] == app_name]
    if not selected:
        raise NotFound("app", app_name)
    return _wrap(
        deps,
        [
            {"id": str(r["id"]), "slug": r["slug"], "name": r["name"], "config": r["config"]}
            for r in selected
        ],
    )


@post("/checkpoint/{run_id:str}/async", status_code=http.OK)
async def checkpoint(
    request: Request[Any, Any, Any], deps: Deps, run_id: FromPath[str]
) -> Response[Any]:
    """TS v4 posts step results here while its call keeps running (saves round trips)."""
    try:
        body = wire_json.decode(await request.body())
    except ValueError as exc:
        raise ValidationError(f"checkpoint body is not JSON: {exc}") from exc
    if not isinstance(body, dict) or not isinstance(body.get("steps"), list):
        raise ValidationError("checkpoint body needs a `steps` array", "steps")
    records: list[runs.StepRecord] = []
    for index, raw in enumerate(body["steps"]):
        op = outcome.parse_op(raw, f"steps[{index}]")
        if op.op in (Opcode.STEP_RUN, Opcode.STEP):
            records.append(
                runs.StepRecord(op.id, op.display_name, op.op.value, {"data": op.data}, 1)
            )
    async with deps.pool.connection() as conn, conn.transaction():
        locked = await runs.lock(conn, run_id)
        if locked is None:
            raise NotFound("run", run_id)
        if RunStatus(locked[0]).ended:
            # A stale dispatch: the SDK aborts this request on 409.
            return Response(
                http.error_body(http.CONFLICT, "run has ended"), status_code=http.CONFLICT
            )
        now = deps.clock.now()
        await runs.add_history(
            conn,
            [
                runs.HistoryEntry(run_id, now, "step.completed", r.step_id, r.name, 1, r.memo)
                for r in records
            ],
        )
        added = await runs.save_steps(
            conn, run_id, records, first_position=locked[1], now=deps.clock.now()
        )
        await runs.update_progress(
            conn,
            run_id,
            request_version=None,
            disable_immediate=locked[2],
            added_steps=added.count,
            added_bytes=added.bytes,
            now=deps.clock.now(),
        )
    return Response({"status": http.OK, "saved": added.count})


router = Router(
    path="/v1",
    route_handlers=[
        list_events,
        get_event,
        event_runs,
        get_run,
        cancel_run,
        run_jobs,
        cancellations,
        app_functions,
        checkpoint,
    ],
    before_request=auth.require_signing_key,
    tags=["v1"],
)
