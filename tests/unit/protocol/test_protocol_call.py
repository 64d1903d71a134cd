"""Call requests to SDKs: URL, headers, the exact body PY's strict parser needs, and signing."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from typing import Any

import jcs
import pytest

from inngest.errors import ValidationError
from inngest.protocol import call

KEY_HEX = "9f2b" * 16
URL = "http://127.0.0.1:3000/api/inngest?fnId=ts-app-demo&stepId=step"
EVENT = {
    "name": "demo/start",
    "data": {"name": "Ada", "id": 7},
    "id": "01JEVT",
    "ts": 1764500000000,
    "user": {},
}
A = hashlib.sha1(b"a").hexdigest()
S = hashlib.sha1(b"s").hexdigest()


def _request(**overrides: Any) -> call.CallRequest:
    base = call.CallRequest(
        url=URL,
        step_id="step",
        run_id="R",
        attempt=0,
        max_attempts=3,
        events=[EVENT],
        memo=[],
        request_version=-1,
        disable_immediate_execution=False,
        server_kind=call.ServerKind.DEV,
        signing_key=None,
        job_id="job-1",
        request_id="req-1",
        generation_id=1,
        now_s=1_764_500_000,
    )
    return dataclasses.replace(base, **overrides)


def test_step_hashes_of_the_walkthrough() -> None:
    assert A == "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8"
    assert S == "a0f1490a20d0211c997b44bc357e1972deab8ae3"
    assert hashlib.sha1(b"w").hexdigest() == "aff024fe4ab0fece4091de044c58c9ae4233383a"
    assert hashlib.sha1(b"a:1").hexdigest() == "de89bfaf06245091a7873290a793604612302247"


def test_first_call_of_the_walkthrough() -> None:
    prepared = call.build_call(_request())
    assert prepared.method == "POST"
    assert prepared.url == URL
    body = json.loads(prepared.body)
    # The captured call #1, plus the informational ctx fields the reference server adds.
    assert body == {
        "ctx": {
            "attempt": 0,
            "disable_immediate_execution": False,
            "env": "",
            "max_attempts": 3,
            "run_id": "R",
            "stack": {"current": 0, "stack": []},
            "step_id": "step",
            "use_api": False,
            "request_id": "req-1",
            "job_id": "job-1",
            "generation_id": 1,
        },
        "event": EVENT,
        "events": [EVENT],
        "steps": {},
        "use_api": False,
        "version": -1,
    }
    assert "fn_id" not in body["ctx"]  # would switch TS into checkpointing
    assert prepared.body == jcs.canonicalize(body)  # the wire bytes are the JCS form
    assert prepared.headers == {
        "Content-Type": "application/json",
        "X-Inngest-Server-Kind": "dev",
        "X-Run-ID": "R",
        "X-Inngest-Req-Version": "-1",
        "X-Inngest-Step-ID": "step",
        "X-Request-ID": "req-1",
        "X-Inngest-Job-ID": "job-1",
        "X-Inngest-Generation-ID": "1",
    }


def test_memo_in_completion_order() -> None:
    memo = [(A, {"data": {"hello": "Ada"}}), (S, None), (A, {"data": "changed"})]
    body = json.loads(call.build_call(_request(memo=memo, request_version=2)).body)
    assert body["steps"] == {A: {"data": {"hello": "Ada"}}, S: None}  # first record stands
    assert body["ctx"]["stack"] == {"current": 2, "stack": [A, S]}
    assert body["version"] == 2


@pytest.mark.parametrize(("version", "sent"), [(-1, -1), (0, -1), (1, 1), (2, 2), (-7, -1)])
def test_version_is_never_zero(version: int, sent: int) -> None:
    prepared = call.build_call(_request(request_version=version))
    assert json.loads(prepared.body)["version"] == sent
    assert prepared.headers["X-Inngest-Req-Version"] == str(sent)


@pytest.mark.parametrize(
    ("url", "step_id", "expected"),
    [
        (URL, "step", URL),
        (URL, A, f"http://127.0.0.1:3000/api/inngest?fnId=ts-app-demo&stepId={A}"),
        ("http://h/api/inngest?fnId=f", A, f"http://h/api/inngest?fnId=f&stepId={A}"),
        ("http://h/api/inngest", "step", "http://h/api/inngest?stepId=step"),
        ("http://h/x?stepId=old&fnId=f&stepId=dup", "step", "http://h/x?stepId=step&fnId=f"),
        ("http://h/x?a=%20b&fnId=f+g&stepId=step", "s", "http://h/x?a=%20b&fnId=f+g&stepId=s"),
        ("https://h:8443/x?fnId=f#frag", "step", "https://h:8443/x?fnId=f&stepId=step#frag"),
        ("http://h/x?fnId=f", "a b&c", "http://h/x?fnId=f&stepId=a%20b%26c"),
    ],
)
def test_with_step_id(url: str, step_id: str, expected: str) -> None:
    assert call.with_step_id(url, step_id) == expected


def test_targeted_call() -> None:
    prepared = call.build_call(
        _request(step_id=A, disable_immediate_execution=True, attempt=2, request_version=2)
    )
    body = json.loads(prepared.body)
    assert prepared.url.endswith(f"&stepId={A}")
    assert prepared.headers["X-Inngest-Step-ID"] == A
    assert body["ctx"]["step_id"] == A
    assert body["ctx"]["attempt"] == 2
    assert body["ctx"]["disable_immediate_execution"] is True


def test_signed_call_verifies_like_the_sdks() -> None:
    prepared = call.build_call(
        _request(signing_key=f"signkey-prod-{KEY_HEX}", server_kind=call.ServerKind.CLOUD)
    )
    assert prepared.headers["X-Inngest-Server-Kind"] == "cloud"
    t_part, s_part = prepared.headers["X-Inngest-Signature"].split("&")
    assert t_part == "t=1764500000"
    # SDKs re-canonicalise the body they received and MAC it with the key text.
    recomputed = jcs.canonicalize(json.loads(prepared.body)) + b"1764500000"
    assert s_part == "s=" + hmac.new(KEY_HEX.encode(), recomputed, hashlib.sha256).hexdigest()


def test_batch_events_and_normalisation() -> None:
    second = {"name": "demo/start", "data": None, "id": 42, "ts": 1764500000001.0}
    third = {"name": "demo/start", "id": None, "ts": None}
    body = json.loads(call.build_call(_request(events=[EVENT, second, third])).body)
    assert body["event"] == EVENT
    assert body["events"][1] == {
        "name": "demo/start",
        "data": {},
        "id": "42",
        "ts": 1764500000001,
        "user": {},
    }
    assert body["events"][2] == {"name": "demo/start", "data": {}, "user": {}}
    bad_ts = {"name": "x", "ts": 1.5, "id": "i"}
    assert "ts" not in json.loads(call.build_call(_request(events=[bad_ts])).body)["event"]


def test_no_events_is_refused() -> None:
    with pytest.raises(ValidationError):
        call.build_call(_request(events=[]))


def test_large_bodies_switch_to_use_api() -> None:
    memo = [(A, {"data": "x" * 5000})]
    small = json.loads(call.build_call(_request(memo=memo, use_api_above_bytes=100_000)).body)
    assert small["use_api"] is False
    big = json.loads(call.build_call(_request(memo=memo, use_api_above_bytes=1000)).body)
    assert (big["use_api"], big["ctx"]["use_api"]) == (True, True)
    assert (big["steps"], big["events"], big["event"]) == ({}, [], EVENT)
    assert big["ctx"]["stack"]["stack"] == [A]


def test_sync_put() -> None:
    app = "http://127.0.0.1:3000/api/inngest"
    unsigned = call.build_sync_put(app, server_kind=call.ServerKind.DEV, signing_key=None, now_s=5)
    assert (unsigned.method, unsigned.url) == ("PUT", app)
    assert unsigned.body == b'{"url":"http://127.0.0.1:3000/api/inngest"}'
    assert unsigned.headers == {"Content-Type": "application/json", "X-Inngest-Server-Kind": "dev"}
    signed = call.build_sync_put(
        app, server_kind=call.ServerKind.CLOUD, signing_key=KEY_HEX, now_s=5
    )
    mac = hmac.new(KEY_HEX.encode(), signed.body + b"5", hashlib.sha256).hexdigest()
    assert signed.headers["X-Inngest-Signature"] == f"t=5&s={mac}"
    assert signed.headers["X-Inngest-Server-Kind"] == "cloud"
