"""Parsing a ``POST /fn/register`` body, TS or PY dialect, into an ``AppSync`` record."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from inngest.errors import ProtocolError
from inngest.protocol import signing, wire_json

# steps.step.retries.attempts counts RETRIES; absent means the reference server's default of 4.
DEFAULT_RETRIES = 4
MAX_RETRIES = 20
MAX_TRIGGERS = 10


@dataclass(frozen=True, slots=True)
class Trigger:
    """One trigger of a function: an event name (with an optional CEL filter) or a cron schedule."""

    event: str | None
    cron: str | None
    expression: str | None


@dataclass(frozen=True, slots=True)
class FunctionDef:
    """One function of an app as registered; ``config`` is its whole object, kept untouched."""

    slug: str
    name: str
    url: str
    max_attempts: int
    triggers: tuple[Trigger, ...]
    config: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AppSync:
    """A validated register payload. ``checksum`` identifies an identical re-sync."""

    app_name: str
    url: str
    sdk_language: str
    sdk_version: str
    framework: str
    app_version: str | None
    deploy_type: str
    functions: tuple[FunctionDef, ...]
    checksum: str


def parse_register(body: bytes | str | object) -> AppSync:
    """Validate a register body (raw bytes/str, or an already decoded JSON value).

    Raises ProtocolError whose message names the path of the first problem found.
    """
    if isinstance(body, bytes | bytearray | str):
        try:
            payload = wire_json.decode(bytes(body) if isinstance(body, bytearray) else body)
        except ValueError as exc:
            raise ProtocolError(f"register body: {exc}", None) from None
    else:
        payload = body
    if not isinstance(payload, dict):
        raise ProtocolError("register body must be a JSON object", None)

    # TS writes camelCase keys, PY snake/lower case; either is accepted.
    app_name = _first_str(payload, "appName", "appname")
    if not app_name:
        raise ProtocolError("appName: missing app id (appName or appname)", "appName")
    url = payload.get("url")
    if not isinstance(url, str) or not url:
        raise ProtocolError("url: missing app URL", "url")
    language, version = _split_sdk(payload.get("sdk"))
    functions = _parse_functions(payload.get("functions"))
    return AppSync(
        app_name=app_name,
        url=url,
        sdk_language=language,
        sdk_version=version,
        framework=_first_str(payload, "framework") or "",
        app_version=_first_str(payload, "appVersion", "app_version"),
        deploy_type=_first_str(payload, "deployType", "deploy_type") or "ping",
        functions=functions,
        checksum=_checksum(payload),
    )


def matches_trigger(pattern: str, name: str) -> bool:
    """Whether event ``name`` fires a trigger on ``pattern``: exact, or prefix + final ``*``."""
    if pattern.endswith("*"):
        return name.startswith(pattern[:-1])
    return pattern == name


def _first_str(obj: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _split_sdk(sdk: object) -> tuple[str, str]:
    # "js:v4.24.0" -> ("js", "4.24.0"); anything unexpected degrades to blanks, it is informational.
    if not isinstance(sdk, str) or not sdk:
        return "", ""
    language, _, version = sdk.partition(":")
    return language, version.removeprefix("v")


def _checksum(payload: dict[str, Any]) -> str:
    try:
        canonical = signing.canonical(payload)
    except (TypeError, ValueError) as exc:
        # Only reachable with an already-decoded body holding non-JSON values.
        raise ProtocolError(f"register body is not JSON-serialisable: {exc}", None) from None
    return hashlib.sha256(canonical).hexdigest()


def _parse_functions(raw: object) -> tuple[FunctionDef, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ProtocolError("functions: must be an array", "functions")
    seen: dict[str, int] = {}
    parsed: list[FunctionDef] = []
    for index, item in enumerate(raw):
        fn = _parse_function(item, f"functions[{index}]")
        if fn.slug in seen:
            raise ProtocolError(
                f"functions[{index}].id: duplicate function id {fn.slug!r} "
                f"(also functions[{seen[fn.slug]}])",
                f"functions[{index}].id",
            )
        seen[fn.slug] = index
        parsed.append(fn)
    return tuple(parsed)


def _parse_function(item: object, path: str) -> FunctionDef:
    if not isinstance(item, dict):
        raise ProtocolError(f"{path}: must be an object", path)
    slug = item.get("id")
    if not isinstance(slug, str) or not slug:
        raise ProtocolError(f"{path}.id: missing function id", f"{path}.id")
    name = item.get("name")
    return FunctionDef(
        slug=slug,
        name=name if isinstance(name, str) and name else slug,
        url=_step_url(item, path),
        max_attempts=_max_attempts(item, path),
        triggers=_parse_triggers(item.get("triggers"), f"{path}.triggers"),
        config=item,
    )


def _step(item: dict[str, Any], path: str) -> dict[str, Any]:
    steps = item.get("steps")
    step = steps.get("step") if isinstance(steps, dict) else None
    if not isinstance(step, dict):
        raise ProtocolError(f"{path}.steps.step: missing", f"{path}.steps.step")
    return step


def _step_url(item: dict[str, Any], path: str) -> str:
    where = f"{path}.steps.step.runtime.url"
    runtime = _step(item, path).get("runtime")
    url = runtime.get("url") if isinstance(runtime, dict) else None
    if not isinstance(url, str) or not url:
        raise ProtocolError(f"{where}: missing", where)
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ProtocolError(f"{where}: not a URL: {url[:200]!r}", where) from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ProtocolError(f"{where}: must be an http(s) URL, got {url[:200]!r}", where)
    return url


def _max_attempts(item: dict[str, Any], path: str) -> int:
    retries = _step(item, path).get("retries")
    attempts = retries.get("attempts") if isinstance(retries, dict) else None
    if attempts is None:
        return DEFAULT_RETRIES + 1
    # bool is an int in Python but never a retry count on the wire.
    if isinstance(attempts, float) and attempts.is_integer():
        attempts = int(attempts)
    if isinstance(attempts, bool) or not isinstance(attempts, int):
        where = f"{path}.steps.step.retries.attempts"
        raise ProtocolError(f"{where}: must be an integer", where)
    return min(max(attempts, 0), MAX_RETRIES) + 1


def _parse_triggers(raw: object, path: str) -> tuple[Trigger, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ProtocolError(f"{path}: must be an array", path)
    if len(raw) > MAX_TRIGGERS:
        raise ProtocolError(f"{path}: at most {MAX_TRIGGERS} triggers, got {len(raw)}", path)
    return tuple(_parse_trigger(t, f"{path}[{i}]") for i, t in enumerate(raw))


def _parse_trigger(raw: object, path: str) -> Trigger:
    if not isinstance(raw, dict):
        raise ProtocolError(f"{path}: must be an object", path)
    event, cron, expression = raw.get("event"), raw.get("cron"), raw.get("expression")
    has_event = isinstance(event, str) and bool(event)
    has_cron = isinstance(cron, str) and bool(cron)
    if has_event == has_cron:
        raise ProtocolError(f"{path}: needs exactly one of event or cron", path)
    for key, value in (("event", event), ("cron", cron)):
        if value is not None and not isinstance(value, str):
            raise ProtocolError(f"{path}.{key}: must be a string", f"{path}.{key}")
    if expression is not None and not isinstance(expression, str):
        raise ProtocolError(f"{path}.expression: must be a string", f"{path}.expression")
    return Trigger(
        event=event if has_event else None,
        cron=cron if has_cron else None,
        expression=expression or None,
    )
