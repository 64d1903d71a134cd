"""Event ingestion rules: defaults, limits, reserved names, and seeded internal ULIDs."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from ulid import ULID

from inngest.errors import ValidationError
from inngest.protocol import events

NOW_MS = 1_796_039_087_452
SEED = "1796039087452,ofWKKvsJ/HLDmg=="  # captured from an SDK send


def _parse(body: Any, **kwargs: Any) -> list[events.Event]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    kwargs.setdefault("now_ms", NOW_MS)
    kwargs.setdefault("seed", None)
    return events.parse_events(raw, **kwargs)


def test_captured_sdk_bodies() -> None:
    ts_body = b'[{"name":"demo/start","data":{"name":"x","id":1},"ts":1796039087452}]'
    py_body = b'[{"data":{"name":"x","id":1},"name":"demo/start","ts":1796039094959}]'
    (ts_event,) = events.parse_events(ts_body, now_ms=NOW_MS, seed=SEED)
    (py_event,) = events.parse_events(py_body, now_ms=NOW_MS, seed=None)
    assert ts_event.name == py_event.name == "demo/start"
    assert ts_event.data == {"name": "x", "id": 1}
    assert (ts_event.ts, py_event.ts) == (1796039087452, 1796039094959)
    assert ts_event.id == ts_event.internal_id  # no id given: the internal one
    assert ts_event.to_wire() == {
        "name": "demo/start",
        "data": {"name": "x", "id": 1},
        "id": ts_event.internal_id,
        "ts": 1796039087452,
        "user": {},
    }


def test_single_object_body_and_defaults() -> None:
    (event,) = _parse({"name": "demo/start"})
    assert (event.data, event.user, event.ts, event.v) == ({}, {}, NOW_MS, None)
    (zero,) = _parse({"name": "demo/start", "ts": 0, "data": None, "user": None, "id": ""})
    assert (zero.ts, zero.data, zero.user, zero.id) == (NOW_MS, {}, {}, zero.internal_id)


def test_explicit_fields_kept() -> None:
    (event,) = _parse(
        {
            "name": "a/b",
            "data": {"k": [1]},
            "id": "order-1",
            "ts": 1764500000000,
            "user": {"u": 1},
            "v": "2024-01-01.1",
            "meta": {"sessions": {}},
        }
    )
    assert event.to_wire() == {
        "name": "a/b",
        "data": {"k": [1]},
        "id": "order-1",
        "ts": 1764500000000,
        "user": {"u": 1},
        "v": "2024-01-01.1",
    }


def test_inngest_data_key_is_stripped_unless_internal() -> None:
    body = {"name": "demo/x", "data": {"_inngest": {"fn_id": "forged"}, "k": 1}}
    assert _parse(body)[0].data == {"k": 1}
    assert _parse(body, allow_internal=True)[0].data == {"_inngest": {"fn_id": "forged"}, "k": 1}


def test_reserved_names() -> None:
    with pytest.raises(ValidationError) as info:
        _parse([{"name": "ok"}, {"name": "inngest/function.failed"}])
    assert info.value.message == (
        "events[1].name: event name is reserved for internal use: inngest/function.failed"
    )
    assert _parse({"name": "inngest/function.failed"}, allow_internal=True)[0].name


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "events: invalid JSON"),
        (b"", "events: invalid JSON"),
        (b'{"name": "a", "ts": NaN}', "events: NaN is not valid JSON"),
        (b"1", "events[0]: must be an object"),
        (b'["a"]', "events[0]: must be an object"),
        ({"data": {}}, "events[0].name: must be a non-empty string"),
        (
            [{"name": "a"}, {"name": "b"}, {"name": ""}],
            "events[2].name: must be a non-empty string",
        ),
        ({"name": "   "}, "events[0].name: must be a non-empty string"),
        ({"name": 5}, "events[0].name: must be a non-empty string"),
        ({"name": "x" * 513}, "events[0].name: longer than 512 characters"),
        ({"name": "a", "data": []}, "events[0].data: must be an object"),
        ({"name": "a", "data": "x"}, "events[0].data: must be an object"),
        ({"name": "a", "user": 1}, "events[0].user: must be an object"),
        ({"name": "a", "id": 12}, "events[0].id: must be a string"),
        ({"name": "a", "ts": 1.5}, "events[0].ts: must be an integer of Unix milliseconds"),
        ({"name": "a", "ts": 1796039087452.0}, "events[0].ts: must be an integer"),
        ({"name": "a", "ts": True}, "events[0].ts: must be an integer"),
        ({"name": "a", "ts": "1796039087452"}, "events[0].ts: must be an integer"),
        (
            {"name": "a", "ts": 315532799999},
            "events[0].ts: must be between 1980-01-01 and 2100-01-01",
        ),
        ({"name": "a", "ts": 4102444800000}, "events[0].ts: must be between"),
        ({"name": "a", "ts": -1}, "events[0].ts: must be between"),
        ({"name": "a", "v": 2}, "events[0].v: must be a string"),
    ],
)
def test_rejects(body: Any, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        _parse(body)
    assert info.value.message.startswith(message)


def test_name_length_limit_is_inclusive() -> None:
    assert _parse({"name": "x" * 512})[0].name == "x" * 512


def test_timestamp_bounds() -> None:
    assert _parse({"name": "a", "ts": 315532800000})[0].ts == 315532800000
    assert _parse({"name": "a", "ts": 4102444799999})[0].ts == 4102444799999


def test_limits() -> None:
    with pytest.raises(ValidationError, match=r"events: at most 3 events per request, got 4"):
        _parse([{"name": "a"}] * 4, max_events=3)
    assert len(_parse([{"name": "a"}] * 3, max_events=3)) == 3
    big = {"name": "a", "data": {"blob": "x" * 2000}}
    with pytest.raises(ValidationError, match=r"events\[1\]: larger than 1024 bytes"):
        _parse([{"name": "a"}, big], max_event_bytes=1024)
    assert _parse([{"name": "a"}, big], max_event_bytes=4096)


def test_empty_array_is_no_events() -> None:
    assert _parse([]) == []


def _expected_seeded(seed: str, index: int) -> str:
    # The rule written out independently: time = seed ms; entropy = seed bytes with the 1-based
    # index added big-endian (mod 2**32) to the last four bytes.
    ms_text, b64 = seed.split(",")
    entropy = base64.b64decode(b64)
    tail = (int.from_bytes(entropy[6:], "big") + index) % 2**32
    raw = int(ms_text).to_bytes(6, "big") + entropy[:6] + tail.to_bytes(4, "big")
    return str(ULID.from_bytes(raw))


def test_seeded_ids() -> None:
    parsed = _parse([{"name": "a"}, {"name": "b"}, {"name": "c", "id": "mine"}], seed=SEED)
    assert [e.internal_id for e in parsed] == [_expected_seeded(SEED, i) for i in (1, 2, 3)]
    assert parsed[2].id == "mine"
    assert ULID.from_str(parsed[0].internal_id).milliseconds == 1796039087452
    # A retried send with the same seed derives the same ids.
    again = _parse([{"name": "a"}, {"name": "b"}, {"name": "c"}], seed=SEED)
    assert [e.internal_id for e in again] == [e.internal_id for e in parsed]


def test_seeded_counter_wraps() -> None:
    entropy = bytes(6) + b"\xff\xff\xff\xff"
    seed = "1000," + base64.b64encode(entropy).decode()
    ids = events.seeded_ids(seed, 2)
    assert ids is not None
    assert ids[0] == str(ULID.from_bytes((1000).to_bytes(6, "big") + bytes(10)))
    assert ids == [_expected_seeded(seed, 1), _expected_seeded(seed, 2)]


@pytest.mark.parametrize(
    "seed",
    [
        "",
        "garbage",
        "1796039087452",
        "abc,ofWKKvsJ/HLDmg==",
        "1796039087452,!!!",
        "1796039087452," + base64.b64encode(b"short").decode(),
        f"{2**48},ofWKKvsJ/HLDmg==",
        "-5,ofWKKvsJ/HLDmg==",
    ],
)
def test_invalid_seed_gives_fresh_monotonic_ids(seed: str) -> None:
    assert events.seeded_ids(seed, 1) is None
    parsed = _parse([{"name": "a"}] * 50, seed=seed)
    ids = [e.internal_id for e in parsed]
    assert ids == sorted(ids)
    assert len(set(ids)) == 50
    assert all(ULID.from_str(i).milliseconds == NOW_MS for i in ids)


def test_fresh_ids_differ_between_calls() -> None:
    assert _parse({"name": "a"})[0].internal_id != _parse({"name": "a"})[0].internal_id


def test_new_event() -> None:
    event = events.new_event(
        "inngest/function.finished", {"_inngest": {"status": "Completed"}}, now_ms=NOW_MS
    )
    assert event.name == "inngest/function.finished"
    assert event.data == {"_inngest": {"status": "Completed"}}  # kept: it is ours
    assert (event.ts, event.id) == (NOW_MS, event.internal_id)
    timer = events.new_event(
        "inngest/scheduled.timer", {"cron": "* * * * *"}, now_ms=NOW_MS, id="2026-01-01T00:00:00Z"
    )
    assert timer.id == "2026-01-01T00:00:00Z"
    invoked = events.new_event("inngest/function.invoked", {}, now_ms=NOW_MS, v="1")
    assert invoked.to_wire()["v"] == "1"
    with pytest.raises(ValidationError):
        events.new_event("inngest/x", {}, now_ms=NOW_MS, allow_internal=False)
    with pytest.raises(ValidationError):
        events.new_event("", {}, now_ms=NOW_MS)
