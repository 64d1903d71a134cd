"""Building the HTTP requests the server sends to SDK apps: step calls and sync PUTs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

from inngest.errors import ValidationError
from inngest.protocol import signing

DISCOVERY_STEP_ID = "step"
# The version every run starts with: "let the SDK decide". TS aborts on 0, so 0 is never sent.
UNKNOWN_REQUEST_VERSION = -1


class ServerKind(StrEnum):
    """The personality we announce in ``X-Inngest-Server-Kind``; SDKs compare it with their mode."""

    DEV = "dev"
    CLOUD = "cloud"


@dataclass(frozen=True, slots=True)
class CallRequest:
    """Everything one call to a function's step URL needs.

    ``memo`` lists ``(hashed step id, memo value)`` in the order the steps completed; that order is
    the stack the SDK replays. ``events`` are wire events; the first is the run's ``event``.
    """

    url: str
    step_id: str
    run_id: str
    attempt: int
    max_attempts: int
    events: Sequence[Mapping[str, Any]]
    memo: Sequence[tuple[str, Any]]
    request_version: int
    disable_immediate_execution: bool
    server_kind: ServerKind
    signing_key: str | None
    job_id: str
    request_id: str
    generation_id: int
    now_s: int
    # Bodies above this size go out empty with use_api=true; the SDK then fetches events and
    # steps from /v0 (contract §5.12). None never switches.
    use_api_above_bytes: int | None = None
    # Sent as ctx.fn_id / ctx.qi_id: TS v4 then checkpoints step results to
    # /v1/checkpoint/{run_id}/async during a discovery call (§5.11). None leaves them out.
    function_id: str | None = None
    queue_item_id: str | None = None


@dataclass(frozen=True, slots=True)
class PreparedCall:
    """A ready HTTP request: exact URL, headers, and the (JCS) body bytes that were signed."""

    url: str
    headers: dict[str, str] = field(hash=False)
    body: bytes
    method: str = "POST"


def build_call(req: CallRequest) -> PreparedCall:
    """The POST that asks the SDK to run (or discover) a step of a run."""
    if not req.events:
        raise ValidationError("a call needs at least one triggering event", "events")
    version = req.request_version if req.request_version > 0 else UNKNOWN_REQUEST_VERSION
    events = [_wire_event(e) for e in req.events]
    stack, steps = _stack_and_steps(req.memo)
    body = signing.canonical(_payload(req, version, events, stack, steps, use_api=False))
    if req.use_api_above_bytes is not None and len(body) > req.use_api_above_bytes:
        # `event` stays: PY requires it even when it will fetch the rest.
        body = signing.canonical(_payload(req, version, events[:1], stack, {}, use_api=True))
    headers = {
        "Content-Type": "application/json",
        "X-Inngest-Server-Kind": str(req.server_kind),
        "X-Run-ID": req.run_id,
        "X-Inngest-Req-Version": str(version),
        "X-Inngest-Step-ID": req.step_id,
        "X-Request-ID": req.request_id,
        "X-Inngest-Job-ID": req.job_id,
        "X-Inngest-Generation-ID": str(req.generation_id),
    }
    if req.signing_key:
        headers["X-Inngest-Signature"] = signing.signature_header(body, req.signing_key, req.now_s)
    return PreparedCall(url=with_step_id(req.url, req.step_id), headers=headers, body=body)


def build_sync_put(
    url: str, *, server_kind: ServerKind, signing_key: str | None, now_s: int
) -> PreparedCall:
    """The PUT that asks an app to register itself (it answers by POSTing ``/fn/register``)."""
    body = signing.canonical({"url": url})
    headers = {"Content-Type": "application/json", "X-Inngest-Server-Kind": str(server_kind)}
    if signing_key:
        headers["X-Inngest-Signature"] = signing.signature_header(body, signing_key, now_s)
    return PreparedCall(url=url, headers=headers, body=body, method="PUT")


def with_step_id(url: str, step_id: str) -> str:
    """``url`` with its ``stepId`` query parameter set to ``step_id``; other parameters verbatim.

    The registered URL is called exactly as given (it may carry the app's own parameters), so the
    query is edited as text instead of being decoded and re-encoded.
    """
    parts = urlsplit(url)
    pairs = [p for p in parts.query.split("&") if p] if parts.query else []
    value = "stepId=" + quote(step_id, safe="")
    kept: list[str] = []
    placed = False
    for pair in pairs:
        if unquote_plus(pair.partition("=")[0]) == "stepId":
            if not placed:
                kept.append(value)
                placed = True
            continue
        kept.append(pair)
    if not placed:
        kept.append(value)
    return urlunsplit(parts._replace(query="&".join(kept)))


def _payload(
    req: CallRequest,
    version: int,
    events: list[dict[str, Any]],
    stack: list[str],
    steps: dict[str, Any],
    *,
    use_api: bool,
) -> dict[str, Any]:
    # PY validates this with pydantic strict mode: the top-level use_api, steps, ctx.stack,
    # ctx.attempt (int), ctx.disable_immediate_execution and ctx.run_id are mandatory.
    # ctx.fn_id turns on TS checkpointing (§5.11); it is sent only when the caller asks.
    ctx: dict[str, Any] = {
        "attempt": req.attempt,
        "disable_immediate_execution": req.disable_immediate_execution,
        "env": "",
        "generation_id": req.generation_id,
        "job_id": req.job_id,
        "max_attempts": req.max_attempts,
        "request_id": req.request_id,
        "run_id": req.run_id,
        "stack": {"current": len(stack), "stack": stack},
        "step_id": req.step_id,
        "use_api": use_api,
    }
    if req.function_id is not None:
        ctx["fn_id"] = req.function_id
        ctx["qi_id"] = req.queue_item_id or req.job_id
    return {
        "ctx": ctx,
        "event": events[0],
        "events": events if not use_api else [],
        "steps": steps,
        "use_api": use_api,
        "version": version,
    }


def _stack_and_steps(memo: Sequence[tuple[str, Any]]) -> tuple[list[str], dict[str, Any]]:
    # A step is recorded once; should a caller repeat an id, its first completion stands.
    stack: list[str] = []
    steps: dict[str, Any] = {}
    for step_id, value in memo:
        if step_id not in steps:
            stack.append(step_id)
            steps[step_id] = value
    return stack, steps


def _wire_event(event: Mapping[str, Any]) -> dict[str, Any]:
    # PY rejects `id: null` and a non-integer `ts`; stored events should already be clean, this
    # makes sure a call is never refused for it.
    wire = dict(event)
    event_id = wire.get("id")
    if event_id is None:
        wire.pop("id", None)
    elif not isinstance(event_id, str):
        wire["id"] = str(event_id)
    ts = wire.get("ts")
    if isinstance(ts, float) and ts.is_integer():
        wire["ts"] = int(ts)
    elif isinstance(ts, bool) or not isinstance(ts, int):
        wire.pop("ts", None)
    if wire.get("data") is None:
        wire["data"] = {}
    wire.setdefault("user", {})
    return wire
