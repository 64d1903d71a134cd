"""Validating incoming events (``POST /e/{key}``) and giving each its internal ULID."""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass, field
from typing import Any

from ulid import ULID

from inngest.errors import ValidationError
from inngest.protocol import wire_json

MAX_NAME_CHARS = 512
MAX_EVENT_BYTES = 512 * 1024
MAX_EVENTS = 5000
RESERVED_PREFIX = "inngest/"
# The seed header the SDKs send so that a retried send derives the same internal ids.
SEED_HEADER = "x-inngest-event-id-seed"

_TS_MIN_MS = 315_532_800_000  # 1980-01-01T00:00:00Z
_TS_MAX_MS = 4_102_444_800_000  # 2100-01-01T00:00:00Z
_ENTROPY_BYTES = 10
_MAX_ULID_MS = (1 << 48) - 1
_U32 = 1 << 32


@dataclass(frozen=True, slots=True)
class Event:
    """A validated event: ``internal_id`` is our ULID, ``id`` the idempotency key."""

    internal_id: str
    id: str
    name: str
    data: dict[str, Any] = field(hash=False)
    ts: int
    user: dict[str, Any] = field(hash=False)
    v: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The event as SDKs receive it: ``id`` always a string, ``ts`` always an integer."""
        wire: dict[str, Any] = {
            "name": self.name,
            "data": self.data,
            "id": self.id,
            "ts": self.ts,
            "user": self.user,
        }
        if self.v is not None:
            wire["v"] = self.v
        return wire


def parse_events(
    body: bytes,
    *,
    now_ms: int,
    seed: str | None,
    max_event_bytes: int = MAX_EVENT_BYTES,
    max_events: int = MAX_EVENTS,
    allow_internal: bool = False,
) -> list[Event]:
    """Validate a body holding one event object or an array of them, in order.

    All or nothing: the first bad event raises ValidationError naming its index and field.
    ``seed`` is the ``x-inngest-event-id-seed`` header; without a valid one ids are random.
    """
    try:
        payload = wire_json.decode(body)
    except ValueError as exc:
        raise ValidationError(f"events: {exc}", "events") from None
    items = payload if isinstance(payload, list) else [payload]
    if len(items) > max_events:
        raise ValidationError(
            f"events: at most {max_events} events per request, got {len(items)}", "events"
        )
    # A body no larger than the limit cannot hold an event larger than it: skip re-encoding.
    check_size = len(body) > max_event_bytes
    ids = _internal_ids(seed, now_ms, len(items))
    events: list[Event] = []
    for index, item in enumerate(items):
        path = f"events[{index}]"
        if check_size and _encoded_size(item) > max_event_bytes:
            raise ValidationError(f"{path}: larger than {max_event_bytes} bytes", path)
        events.append(
            _validate(item, path, internal_id=ids[index], now_ms=now_ms, internal=allow_internal)
        )
    return events


def new_event(
    name: str,
    data: dict[str, Any],
    *,
    now_ms: int,
    id: str | None = None,  # the wire field's name
    v: str | None = None,
    allow_internal: bool = True,
) -> Event:
    """An event the server emits itself (``inngest/function.finished``, invoke, cron ticks)."""
    raw: dict[str, Any] = {"name": name, "data": data, "ts": now_ms}
    if id is not None:
        raw["id"] = id
    if v is not None:
        raw["v"] = v
    internal_id = _internal_ids(None, now_ms, 1)[0]
    return _validate(raw, "event", internal_id=internal_id, now_ms=now_ms, internal=allow_internal)


def seeded_ids(seed: str, count: int) -> list[str] | None:
    """The internal ids a seed header derives for ``count`` events, or None if the seed is invalid.

    ULID time = the seed's milliseconds; entropy = the seed's 10 bytes with the 1-based event index
    added, big-endian and wrapping, to the last 4 bytes. Matches the reference server byte for byte,
    so a retried send gets the same ids.
    """
    parsed = _parse_seed(seed)
    if parsed is None:
        return None
    ms, entropy = parsed
    return _derive(ms, entropy, count)


def _parse_seed(seed: str) -> tuple[int, bytes] | None:
    ms_text, sep, b64 = seed.strip().partition(",")
    if not sep or not ms_text.isascii() or not ms_text.isdigit():
        return None
    ms = int(ms_text)
    if ms > _MAX_ULID_MS:
        return None
    try:
        entropy = base64.b64decode(b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(entropy) != _ENTROPY_BYTES:
        return None
    return ms, entropy


def _derive(ms: int, entropy: bytes, count: int) -> list[str]:
    head, tail = entropy[:6], int.from_bytes(entropy[6:], "big")
    stamp = ms.to_bytes(6, "big")
    return [
        str(ULID.from_bytes(stamp + head + ((tail + i) % _U32).to_bytes(4, "big")))
        for i in range(1, count + 1)
    ]


def _internal_ids(seed: str | None, now_ms: int, count: int) -> list[str]:
    if seed:
        ids = seeded_ids(seed, count)
        if ids is not None:
            return ids
    entropy = bytearray(os.urandom(_ENTROPY_BYTES))
    # Clearing the top bit of the counter bytes keeps ids increasing within the call: adding up to
    # 2**31 never wraps.
    entropy[6] &= 0x7F
    return _derive(min(max(now_ms, 0), _MAX_ULID_MS), bytes(entropy), count)


def _encoded_size(item: object) -> int:
    try:
        return len(json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    except (ValueError, RecursionError):
        return 0  # decoded JSON always re-encodes; the guard only keeps this total


def _validate(item: object, path: str, *, internal_id: str, now_ms: int, internal: bool) -> Event:
    if not isinstance(item, dict):
        raise ValidationError(f"{path}: must be an object", path)
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"{path}.name: must be a non-empty string", f"{path}.name")
    if len(name) > MAX_NAME_CHARS:
        raise ValidationError(
            f"{path}.name: longer than {MAX_NAME_CHARS} characters", f"{path}.name"
        )
    if not internal and name.startswith(RESERVED_PREFIX):
        raise ValidationError(
            f"{path}.name: event name is reserved for internal use: {name}", f"{path}.name"
        )
    data = _object(item.get("data"), f"{path}.data")
    if not internal and "_inngest" in data:
        # The key carries server bookkeeping (invoke correlation); clients may not forge it.
        data = {k: v for k, v in data.items() if k != "_inngest"}
    user = _object(item.get("user"), f"{path}.user")
    return Event(
        internal_id=internal_id,
        id=_event_id(item.get("id"), internal_id, f"{path}.id"),
        name=name,
        data=data,
        ts=_timestamp(item.get("ts"), now_ms, f"{path}.ts"),
        user=user,
        v=_version(item.get("v"), f"{path}.v"),
    )


def _object(value: object, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(f"{path}: must be an object", path)
    return value


def _event_id(value: object, internal_id: str, path: str) -> str:
    # An absent or empty id falls back to the internal one, which keeps idempotency per event.
    if value is None or value == "":
        return internal_id
    if not isinstance(value, str):
        raise ValidationError(f"{path}: must be a string", path)
    return value


def _timestamp(value: object, now_ms: int, path: str) -> int:
    # 0 means "unset" on the wire (the reference server fills it in), like an absent ts.
    if value is None or (value == 0 and not isinstance(value, bool)):
        return now_ms
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{path}: must be an integer of Unix milliseconds", path)
    if not _TS_MIN_MS <= value < _TS_MAX_MS:
        raise ValidationError(f"{path}: must be between 1980-01-01 and 2100-01-01", path)
    return value


def _version(value: object, path: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{path}: must be a string", path)
    return value
