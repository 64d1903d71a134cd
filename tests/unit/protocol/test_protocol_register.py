"""Register payloads in both dialects, their validation messages, and trigger name matching."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from inngest.errors import ProtocolError
from inngest.protocol import register

# Captured from TS 4.24.0 (dev mode, Express); featureObservations abbreviated as in the contract.
TS_BODY = b"""{
  "url": "http://127.0.0.1:3000/api/inngest",
  "deployType": "ping",
  "framework": "express",
  "appName": "ts-app",
  "functions": [
    {
      "id": "ts-app-demo",
      "name": "demo",
      "triggers": [{"event": "demo/start"}],
      "steps": {
        "step": {
          "id": "step",
          "name": "step",
          "runtime": {"type": "http", "url": "http://127.0.0.1:3000/api/inngest?fnId=ts-app-demo&stepId=step"},
          "retries": {"attempts": 2}
        }
      }
    }
  ],
  "sdk": "js:v4.24.0",
  "v": "0.1",
  "capabilities": {"trust_probe": "v1", "connect": "v1"},
  "featureObservations": {"sendEvents": {"readinessReason": "SEND_EVENTS_READINESS_REASON_READY", "config": {}}, "...": "..."}
}"""  # noqa: E501

# Captured from PY 0.5.19 (FastAPI).
PY_BODY = b"""{
  "appname": "py-app",
  "capabilities": {"connect": "v1", "in_band_sync": "v1", "trust_probe": "v1"},
  "deploy_type": "ping",
  "framework": "fast_api",
  "functions": [
    {
      "id": "py-app-demo",
      "name": "demo",
      "steps": {"step": {"id": "step", "name": "step", "retries": {"attempts": 2},
                         "runtime": {"type": "http", "url": "http://127.0.0.1:8000/api/inngest?fnId=py-app-demo&stepId=step"}}},
      "triggers": [{"event": "demo/start"}]
    }
  ],
  "sdk": "py:v0.5.19",
  "url": "http://127.0.0.1:8000/api/inngest",
  "v": "0.1"
}"""


def _function(**overrides: Any) -> dict[str, Any]:
    fn: dict[str, Any] = {
        "id": "app-fn",
        "name": "fn",
        "triggers": [{"event": "demo/start"}],
        "steps": {
            "step": {
                "id": "step",
                "name": "step",
                "runtime": {
                    "type": "http",
                    "url": "http://127.0.0.1:3000/api/inngest?fnId=app-fn&stepId=step",
                },
            }
        },
    }
    fn.update(overrides)
    return fn


def _body(*functions: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "appName": "app",
        "url": "http://127.0.0.1:3000/api/inngest",
        "sdk": "js:v4.24.0",
        "functions": list(functions) if functions else [_function()],
    }
    body.update(overrides)
    return body


def test_ts_dialect() -> None:
    sync = register.parse_register(TS_BODY)
    assert (sync.app_name, sync.url) == ("ts-app", "http://127.0.0.1:3000/api/inngest")
    assert (sync.sdk_language, sync.sdk_version) == ("js", "4.24.0")
    assert (sync.framework, sync.deploy_type, sync.app_version) == ("express", "ping", None)
    (fn,) = sync.functions
    assert fn.slug == "ts-app-demo"
    assert fn.name == "demo"
    assert fn.url == "http://127.0.0.1:3000/api/inngest?fnId=ts-app-demo&stepId=step"
    assert fn.max_attempts == 3  # attempts means retries
    assert fn.triggers == (register.Trigger(event="demo/start", cron=None, expression=None),)
    assert fn.config == json.loads(TS_BODY)["functions"][0]


def test_py_dialect() -> None:
    sync = register.parse_register(PY_BODY)
    assert (sync.app_name, sync.url) == ("py-app", "http://127.0.0.1:8000/api/inngest")
    assert (sync.sdk_language, sync.sdk_version) == ("py", "0.5.19")
    assert (sync.framework, sync.deploy_type) == ("fast_api", "ping")
    (fn,) = sync.functions
    assert (fn.slug, fn.max_attempts) == ("py-app-demo", 3)
    assert fn.url.endswith("?fnId=py-app-demo&stepId=step")


def test_decoded_object_and_bytes_agree() -> None:
    assert register.parse_register(json.loads(PY_BODY)) == register.parse_register(PY_BODY)
    assert register.parse_register(PY_BODY.decode()) == register.parse_register(PY_BODY)


def test_checksum_detects_identical_resync() -> None:
    pretty = register.parse_register(TS_BODY)
    compact = register.parse_register(json.dumps(json.loads(TS_BODY), separators=(",", ":")))
    assert pretty.checksum == compact.checksum  # same JSON, other bytes
    changed = json.loads(TS_BODY)
    changed["functions"][0]["name"] = "renamed"
    assert register.parse_register(changed).checksum != pretty.checksum
    assert len(pretty.checksum) == 64


def test_kitchen_sink_and_failure_companion() -> None:
    kitchen = _function(
        id="ts-app-kitchen",
        triggers=[
            {"event": "demo/kitchen", "expression": "event.data.ok == true"},
            {"cron": "TZ=Europe/Paris 0 12 * * 5", "jitter": "30s"},
        ],
        concurrency=[{"key": "event.data.user", "limit": 2, "scope": "fn"}],
        cancel=[{"event": "demo/cancel", "if": "async.data.id == event.data.id", "timeout": "1h"}],
        throttle={"limit": 5, "period": "1m", "key": "event.data.user", "burst": 2},
    )
    failure = _function(
        id="ts-app-kitchen-failure",
        name="Kitchen sink (failure)",
        triggers=[
            {
                "event": "inngest/function.failed",
                "expression": "event.data.function_id == 'ts-app-kitchen'",
            }
        ],
        cancel=[],  # PY's empty arrays are fine
        concurrency=[],
    )
    failure["steps"]["step"]["retries"] = {"attempts": 0}
    sync = register.parse_register(_body(kitchen, failure, appVersion="v7", featureFlags={}))
    assert sync.app_version == "v7"
    k, f = sync.functions
    assert k.triggers == (
        register.Trigger("demo/kitchen", None, "event.data.ok == true"),
        register.Trigger(None, "TZ=Europe/Paris 0 12 * * 5", None),
    )
    assert k.max_attempts == 5  # default: 4 retries
    assert k.config["throttle"]["burst"] == 2
    assert f.max_attempts == 1
    assert f.triggers[0].expression == "event.data.function_id == 'ts-app-kitchen'"


@pytest.mark.parametrize(
    ("retries", "max_attempts"),
    [
        (None, 5),
        ({}, 5),
        ({"attempts": None}, 5),
        ({"attempts": 0}, 1),
        ({"attempts": 20}, 21),
        ({"attempts": 50}, 21),
        ({"attempts": -3}, 1),
        ({"attempts": 3.0}, 4),
    ],
)
def test_max_attempts(retries: dict[str, Any] | None, max_attempts: int) -> None:
    fn = _function()
    if retries is not None:
        fn["steps"]["step"]["retries"] = retries
    assert register.parse_register(_body(fn)).functions[0].max_attempts == max_attempts


def test_defaults_and_optional_fields() -> None:
    fn = _function(triggers=None)
    del fn["name"]
    sync = register.parse_register({"appname": "a", "url": "http://x", "functions": [fn]})
    assert (sync.sdk_language, sync.sdk_version, sync.framework, sync.deploy_type) == (
        "",
        "",
        "",
        "ping",
    )
    assert sync.functions[0].name == "app-fn"
    assert sync.functions[0].triggers == ()
    assert register.parse_register({"appName": "a", "url": "http://x"}).functions == ()


def _broken(mutate: Any) -> dict[str, Any]:
    body = _body(_function(), _function(id="app-other"))
    mutate(body)
    return body


def _set(path: list[Any], value: Any) -> Any:
    def mutate(body: dict[str, Any]) -> None:
        target: Any = body
        for key in path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return mutate


_DELETE = object()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "register body: invalid JSON"),
        (b'{"a": "\xc3\x28"}', "register body: body is not UTF-8"),
        (b"[1, 2]", "register body must be a JSON object"),
        (b'"x"', "register body must be a JSON object"),
        (b'{"appName": "a", "url": "http://x", "n": NaN}', "NaN"),
        (_broken(_set(["appName"], _DELETE)), "appName: missing app id"),
        (_broken(_set(["appName"], "")), "appName: missing app id"),
        (_broken(_set(["url"], _DELETE)), "url: missing app URL"),
        (_broken(_set(["functions"], {"a": 1})), "functions: must be an array"),
        (_broken(_set(["functions", 1], "x")), "functions[1]: must be an object"),
        (_broken(_set(["functions", 0, "id"], _DELETE)), "functions[0].id: missing function id"),
        (_broken(_set(["functions", 1, "id"], 7)), "functions[1].id: missing function id"),
        (
            _broken(_set(["functions", 1, "id"], "app-fn")),
            "functions[1].id: duplicate function id 'app-fn'",
        ),
        (_broken(_set(["functions", 0, "steps"], _DELETE)), "functions[0].steps.step: missing"),
        (
            _broken(_set(["functions", 0, "steps", "step", "runtime"], _DELETE)),
            "functions[0].steps.step.runtime.url: missing",
        ),
        (
            _broken(_set(["functions", 0, "steps", "step", "runtime", "url"], "ws://x/y")),
            "functions[0].steps.step.runtime.url: must be an http(s) URL",
        ),
        (
            _broken(_set(["functions", 0, "steps", "step", "runtime", "url"], "http:///nohost")),
            "functions[0].steps.step.runtime.url: must be an http(s) URL",
        ),
        (
            _broken(_set(["functions", 0, "steps", "step", "retries"], {"attempts": "3"})),
            "functions[0].steps.step.retries.attempts: must be an integer",
        ),
        (
            _broken(_set(["functions", 0, "steps", "step", "retries"], {"attempts": True})),
            "functions[0].steps.step.retries.attempts: must be an integer",
        ),
        (
            _broken(_set(["functions", 0, "triggers"], [{"event": f"e{i}"} for i in range(11)])),
            "functions[0].triggers: at most 10 triggers, got 11",
        ),
        (
            _broken(_set(["functions", 0, "triggers"], {"event": "x"})),
            "functions[0].triggers: must be an array",
        ),
        (
            _broken(
                _set(
                    ["functions", 0, "triggers"],
                    [{"event": "a"}, {"event": "b", "cron": "* * * * *"}],
                )
            ),
            "functions[0].triggers[1]: needs exactly one of event or cron",
        ),
        (
            _broken(_set(["functions", 1, "triggers"], [{}])),
            "functions[1].triggers[0]: needs exactly one of event or cron",
        ),
        (
            _broken(_set(["functions", 0, "triggers"], [{"event": ""}])),
            "functions[0].triggers[0]: needs exactly one of event or cron",
        ),
        (
            _broken(_set(["functions", 0, "triggers"], ["demo/start"])),
            "functions[0].triggers[0]: must be an object",
        ),
        (
            _broken(_set(["functions", 0, "triggers"], [{"event": "a", "expression": 3}])),
            "functions[0].triggers[0].expression: must be a string",
        ),
    ],
)
def test_rejects(body: bytes | dict[str, Any], message: str) -> None:
    with pytest.raises(ProtocolError) as info:
        register.parse_register(copy.deepcopy(body))
    assert message in info.value.message


def test_error_field_names_the_path() -> None:
    body = _broken(_set(["functions", 0, "triggers"], [{"event": "a"}, {}]))
    with pytest.raises(ProtocolError) as info:
        register.parse_register(body)
    assert info.value.field == "functions[0].triggers[1]"


@pytest.mark.parametrize(
    ("pattern", "name", "ok"),
    [
        ("demo/start", "demo/start", True),
        ("demo/start", "demo/start2", False),
        ("demo/start", "Demo/start", False),
        ("app/*", "app/user.created", True),
        ("app/*", "app/", True),
        ("app/*", "other/x", False),
        ("app/*", "app", False),
        ("*", "anything", True),
        ("app*", "apple", True),
        ("a*b", "a*b", True),  # "*" only counts at the end
        ("a*b", "axb", False),
    ],
)
def test_matches_trigger(pattern: str, name: str, ok: bool) -> None:
    assert register.matches_trigger(pattern, name) is ok
