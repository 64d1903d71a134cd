"""Bad input gets a clear 4xx: a JSON body whose error names the problem.

Covers the event API (malformed JSON, wrong field types, reserved names) and the REST API
(malformed sync requests, unknown run ids). No SDK app is involved.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from . import harness

pytestmark = pytest.mark.e2e

UNKNOWN_RUN_ID = "01JDZZZZZZZZZZZZZZZZZZZZZZ"


def assert_client_error(resp: httpx.Response, *words: str, status: int | None = None) -> None:
    """A 4xx (exactly ``status`` if given) with a JSON body that mentions every word."""
    if status is None:
        assert 400 <= resp.status_code < 500, (resp.status_code, resp.text)
    else:
        assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers["content-type"].startswith("application/json"), resp.headers
    text = json.dumps(resp.json()).lower()
    for word in words:
        assert word.lower() in text, f"{word!r} not in error body {resp.text}"


def post_json_text(server: harness.Server, path: str, body: str) -> httpx.Response:
    return server.api.request(
        "POST", path, content=body.encode(), headers={"Content-Type": "application/json"}
    )


@pytest.mark.parametrize(
    ("body", "word"),
    [
        pytest.param('{"name": "test/single", "data": {', "json", id="truncated"),
        pytest.param("not json at all", "json", id="not-json"),
        pytest.param('"a string"', "", id="string-body"),
    ],
)
def test_malformed_event_body(server: harness.Server, body: str, word: str) -> None:
    resp = post_json_text(server, f"/e/{server.event_key}", body)

    assert_client_error(resp, word, status=400)


@pytest.mark.parametrize(
    ("event", "word"),
    [
        pytest.param({"data": {}}, "name", id="missing-name"),
        pytest.param({"name": 42}, "name", id="name-not-string"),
        pytest.param({"name": ""}, "name", id="empty-name"),
        pytest.param({"name": "test/single", "data": "text"}, "data", id="data-not-object"),
        pytest.param({"name": "test/single", "data": [1]}, "data", id="data-array"),
        pytest.param({"name": "test/single", "ts": "yesterday"}, "ts", id="ts-not-integer"),
        pytest.param({"name": "test/single", "id": 7}, "id", id="id-not-string"),
        pytest.param({"name": "inngest/function.failed"}, "reserved", id="reserved-name"),
    ],
)
def test_invalid_event_fields(server: harness.Server, event: dict[str, Any], word: str) -> None:
    resp = server.api.post_event(server.event_key, event)

    assert_client_error(resp, word, status=400)


def test_malformed_sync_request(server: harness.Server) -> None:
    resp = post_json_text(server, "/api/v1/apps", '{"url": ')

    assert_client_error(resp, "json")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="missing-url"),
        pytest.param({"url": 5}, id="url-not-string"),
        pytest.param({"url": "not a url"}, id="url-not-http"),
    ],
)
def test_invalid_sync_url(server: harness.Server, body: dict[str, Any]) -> None:
    resp = server.api.request("POST", "/api/v1/apps", json=body)

    assert_client_error(resp, "url")


def test_unknown_run_id(server: harness.Server) -> None:
    assert_client_error(
        server.api.request("GET", f"/api/v1/runs/{UNKNOWN_RUN_ID}"), "run", status=404
    )
    assert_client_error(
        server.api.request("POST", f"/api/v1/runs/{UNKNOWN_RUN_ID}/rerun"), "run", status=404
    )


def test_malformed_run_id(server: harness.Server) -> None:
    resp = server.api.request("GET", "/api/v1/runs/not-a-run-id")

    assert_client_error(resp, "run")
