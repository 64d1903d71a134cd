"""Reading an SDK's HTTP answer into an ``Outcome``: user code failures are values."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeAlias

from inngest.errors import ProtocolError
from inngest.protocol import durations, wire_json

# sha1("complete"): the id TS gives its RunComplete op, and the id of a function-level error it
# reports as a StepError/StepFailed op when defers ride along.
COMPLETE_STEP_ID = "0737c22d3bfae812339732d14d8c7dbd6dc4e09c"
_SNIPPET_CHARS = 200


class Opcode(StrEnum):
    """Opcode strings exactly as the SDKs write them (the reference server's enum names)."""

    STEP_RUN = "StepRun"
    STEP = "Step"  # legacy spelling of StepRun
    STEP_ERROR = "StepError"
    STEP_FAILED = "StepFailed"
    STEP_PLANNED = "StepPlanned"
    SLEEP = "Sleep"
    WAIT_FOR_EVENT = "WaitForEvent"
    INVOKE_FUNCTION = "InvokeFunction"
    AI_GATEWAY = "AIGateway"
    GATEWAY = "Gateway"
    WAIT_FOR_SIGNAL = "WaitForSignal"
    RUN_COMPLETE = "RunComplete"
    SYNC_RUN_COMPLETE = "SyncRunComplete"
    DISCOVERY_REQUEST = "DiscoveryRequest"
    DEFER_ADD = "DeferAdd"
    DEFER_ABORT = "DeferAbort"
    NONE = "None"
    STEP_NOT_FOUND = "StepNotFound"


_OPCODES = {op.value: op for op in Opcode}
_ERROR_OPS = (Opcode.STEP_ERROR, Opcode.STEP_FAILED)


@dataclass(frozen=True, slots=True)
class Op:
    """One op of a 206 answer. ``name`` carries the payload of Sleep (duration or instant) and
    WaitForEvent (event name); ``error`` is normalised for StepError/StepFailed."""

    id: str
    op: Opcode
    name: str | None
    display_name: str
    opts: dict[str, Any] | None = field(hash=False)
    data: Any = field(hash=False)
    error: dict[str, Any] | None = field(hash=False)
    userland_id: str | None
    timing: dict[str, Any] | None = field(hash=False)


@dataclass(frozen=True, slots=True)
class Completed:
    """The function returned ``output``; ``ops`` are other ops that came with a RunComplete."""

    output: Any = field(hash=False)
    ops: tuple[Op, ...] = ()


@dataclass(frozen=True, slots=True)
class Ops:
    """Step work: ops to process. ``no_retry`` applies to the StepError ops among them."""

    ops: tuple[Op, ...]
    no_retry: bool
    retry_at: datetime | None


@dataclass(frozen=True, slots=True)
class Failed:
    """The call failed: a function-level error, a transport failure or a malformed answer.

    ``error`` is ``{"name", "message", "stack"?, "cause"?, "code"?}``; ``status`` is None when no
    HTTP answer arrived.
    """

    error: dict[str, Any] = field(hash=False)
    retriable: bool
    retry_at: datetime | None
    status: int | None


Outcome: TypeAlias = Completed | Ops | Failed


def transport_failure(message: str) -> Failed:
    """A call that got no HTTP answer (connection refused, timeout, reset): retried."""
    return Failed({"name": "TransportError", "message": message}, True, None, None)


def parse_response(
    status: int, headers: Mapping[str, str], body: bytes, now: datetime
) -> tuple[Outcome, int | None]:
    """The outcome of one SDK answer and the request version it announced (if any).

    Never raises: whatever the bytes, a malformed answer fails the attempt and is retried, so a
    broken app cannot take down a worker.
    """
    try:
        return _parse(status, headers, body, now)
    except Exception as exc:
        return _malformed(f"could not read the SDK answer ({type(exc).__name__})", status), None


class _BadOp(Exception):
    def __init__(self, message: str, *, retriable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retriable = retriable


def _parse(
    status: int, headers: Mapping[str, str], body: bytes, now: datetime
) -> tuple[Outcome, int | None]:
    # HTTP header names are case-insensitive; one lower-cased copy makes every lookup so.
    h = {str(k).lower(): str(v) for k, v in headers.items()}
    if status == 201:
        try:
            status, inner, body = _unwrap_stream(body)
        except ValueError as exc:
            return _malformed(f"streamed (201) answer: {exc}", 201), _req_version(h)
        h.update(inner)
    version = _req_version(h)
    retry_at = _retry_at(h.get("retry-after"), now)
    if "x-inngest-sdk" not in h:
        # A proxy page, a wrong URL, a load balancer error: retry it like a network failure.
        error = {
            "name": "NonSDKResponse",
            "message": f"response did not come from an Inngest SDK: status {status}",
        }
        return Failed(error, True, retry_at, status), version
    no_retry = h.get("x-inngest-no-retry", "").strip().lower() == "true"
    if status == 206:
        return _parse_ops(body, no_retry, retry_at), version
    if 200 <= status < 300:
        if not body.strip():
            return Completed(None), version
        try:
            return Completed(wire_json.decode(body)), version
        except ValueError as exc:
            return _malformed(f"status {status} body is not JSON: {exc}", status), version
    return Failed(_error_body(body, status), not no_retry, retry_at, status), version


def _malformed(message: str, status: int | None) -> Failed:
    return Failed({"name": "MalformedResponse", "message": message}, True, None, status)


def _req_version(h: Mapping[str, str]) -> int | None:
    text = h.get("x-inngest-req-version", "").strip()
    if text.isascii() and text.lstrip("-").isdigit() and len(text) < 10:
        return int(text)
    return None


def _retry_at(value: str | None, now: datetime) -> datetime | None:
    if not value:
        return None
    try:
        return durations.parse_retry_after(value, now)
    except ProtocolError:
        return None  # a garbled header falls back to the backoff table


def _unwrap_stream(body: bytes) -> tuple[int, dict[str, str], bytes]:
    # Keep-alive spaces, then one JSON object {"status", "headers", "body": "<JSON text>"}.
    wrapper = wire_json.decode(body.lstrip())
    if not isinstance(wrapper, dict):
        raise ValueError("final object missing")
    status = wrapper.get("status")
    if isinstance(status, bool) or not isinstance(status, int) or status == 201:
        raise ValueError("missing or invalid status")
    raw_headers = wrapper.get("headers")
    inner: dict[str, str] = {}
    if isinstance(raw_headers, dict):
        for key, value in raw_headers.items():
            text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            inner[str(key).lower()] = text
    inner_body = wrapper.get("body")
    if isinstance(inner_body, str):
        return status, inner, inner_body.encode("utf-8")
    if inner_body is None:
        return status, inner, b""
    return status, inner, json.dumps(inner_body).encode("utf-8")


def _parse_ops(body: bytes, no_retry: bool, retry_at: datetime | None) -> Outcome:
    try:
        payload = wire_json.decode(body)
    except ValueError as exc:
        return _malformed(f"206 body: {exc}", 206)
    items = payload if isinstance(payload, list) else [payload]
    if not items:
        return _malformed("206 body holds no ops", 206)
    try:
        ops = [_parse_op(item, f"ops[{i}]") for i, item in enumerate(items)]
    except _BadOp as bad:
        name = "MalformedResponse" if bad.retriable else "UnknownOpcode"
        return Failed({"name": name, "message": bad.message}, bad.retriable, None, 206)
    for op in ops:
        if op.op is Opcode.RUN_COMPLETE:
            # Same as a 200 with this data; ops riding along (lazy step results) are kept.
            return Completed(op.data, tuple(o for o in ops if o is not op))
    for op in ops:
        if op.id == COMPLETE_STEP_ID and op.op in _ERROR_OPS and op.error is not None:
            # TS's way of reporting a function-level error when defers accompany the end.
            retriable = op.op is Opcode.STEP_ERROR and not no_retry
            return Failed(op.error, retriable, retry_at, 206)
    return Ops(tuple(ops), no_retry, retry_at)


def _parse_op(item: object, path: str) -> Op:
    if not isinstance(item, dict):
        raise _BadOp(f"{path}: must be an object", retriable=True)
    raw_op = item.get("op")
    if not isinstance(raw_op, str):
        raise _BadOp(f"{path}.op: missing", retriable=True)
    opcode = _OPCODES.get(raw_op)
    if opcode is None:
        # An op we cannot carry out will not become one on retry: fail the run.
        raise _BadOp(f"{path}.op: unknown opcode {raw_op[:64]!r}", retriable=False)
    op_id = item.get("id")
    if not isinstance(op_id, str) or not op_id:
        raise _BadOp(f"{path}.id: missing", retriable=True)
    name = _str(item.get("name"))
    userland = item.get("userland")
    userland_id = _str(userland.get("id")) if isinstance(userland, dict) else None
    error = item.get("error")
    if opcode in _ERROR_OPS:
        error = normalize_error(error, "step failed without an error message")
    elif not isinstance(error, dict):
        error = None
    opts, timing = item.get("opts"), item.get("timing")
    return Op(
        id=op_id,
        op=opcode,
        name=name,
        display_name=_str(item.get("displayName")) or userland_id or name or op_id,
        opts=opts if isinstance(opts, dict) else None,
        data=item.get("data"),
        error=error,
        userland_id=userland_id,
        timing=timing if isinstance(timing, dict) else None,
    )


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def normalize_error(raw: object, fallback_message: str) -> dict[str, Any]:
    """An SDK error object as ``{"name", "message", "stack"?, "cause"?, "code"?}``.

    TS sends ``{name, message, stack, __serialized}``, PY ``{code, message, name, stack}``; a TS
    "step not found" answer puts its text in ``error``. Missing parts are filled, never invented
    beyond a generic name.
    """
    if isinstance(raw, str) and raw:
        return {"name": "Error", "message": raw}
    if not isinstance(raw, dict):
        return {"name": "Error", "message": fallback_message}
    name = raw.get("name")
    message = raw.get("message")
    if not isinstance(message, str) or not message:
        alt = raw.get("error")
        message = alt if isinstance(alt, str) and alt else fallback_message
    error: dict[str, Any] = {
        "name": name if isinstance(name, str) and name else "Error",
        "message": message,
    }
    if isinstance(raw.get("stack"), str):
        error["stack"] = raw["stack"]
    if raw.get("cause") is not None:
        error["cause"] = raw["cause"]
    if isinstance(raw.get("code"), str):
        error["code"] = raw["code"]
    return error


def _error_body(body: bytes, status: int) -> dict[str, Any]:
    if not body.strip():
        return {"name": "MalformedResponse", "message": f"SDK answered {status} with no body"}
    try:
        payload = wire_json.decode(body)
    except ValueError:
        snippet = body[:_SNIPPET_CHARS].decode("utf-8", errors="replace")
        return {
            "name": "MalformedResponse",
            "message": f"SDK answered {status} with a body that is not JSON: {snippet!r}",
        }
    return normalize_error(payload, f"SDK answered {status} without an error message")


def parse_op(item: object, path: str) -> Op:
    """One op object outside a call answer (checkpoint requests); ProtocolError when invalid."""
    try:
        return _parse_op(item, path)
    except _BadOp as exc:
        raise ProtocolError(exc.message, path) from exc
