"""HMAC signatures and Bearer-token checks between the server and SDK apps (wire contract §2)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
from collections.abc import Sequence

import jcs

from inngest.errors import ValidationError

# Keys may carry an environment prefix (``signkey-prod-``); every party strips it before use.
_PREFIX = re.compile(r"^signkey-\w+-")
_BEARER = "bearer "


def strip_prefix(key: str) -> str:
    """The key text without its ``signkey-<env>-`` prefix."""
    return _PREFIX.sub("", key, count=1)


# json.dumps(sort_keys=True) and JCS agree byte for byte except on: float tokens (ECMAScript
# prints numbers differently from repr), integers past 2**53 (JCS goes through a double; any
# 16-digit run is treated as one), and text outside the BMP (JCS sorts keys by UTF-16 units).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_RISKY_NUMBER = re.compile(r"[0-9](?:[.eE]|[0-9]{15})")
_WIDE_CHAR = re.compile("[\ud800-\udfff\U00010000-\U0010ffff]")


def canonical(obj: object) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON value: what both SDKs recompute before checking a MAC.

    Every call body goes through here, and the pure-Python ``jcs`` costs about 7x the C encoder;
    for the common body (strings, small integers, BMP text) the two agree byte for byte, so the C
    encoder is used and ``jcs`` only when the text shows a construct where they could differ.
    """
    try:
        text = json.dumps(
            obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError):
        text = None  # let jcs raise its own error, or handle what json.dumps cannot
    if (
        text is None
        or _RISKY_NUMBER.search(_STRING.sub('""', text))  # numbers, with strings blanked out
        or (not text.isascii() and _WIDE_CHAR.search(text))
    ):
        result: bytes = jcs.canonicalize(obj)
        return result
    return text.encode("utf-8")


def _mac(body: bytes, key: str, t: str) -> str:
    # The MAC key is the hex TEXT of the key (not its decoded bytes): that is what the SDKs use.
    secret = strip_prefix(key).encode("utf-8")
    return hmac.new(secret, body + t.encode("ascii"), hashlib.sha256).hexdigest()


def signature_header(body: bytes, key: str, now_s: int) -> str:
    """``X-Inngest-Signature`` for a request whose body is already JCS bytes (``b""`` for none)."""
    t = str(now_s)
    return f"t={t}&s={_mac(body, key, t)}"


def hashed_key(key: str) -> str:
    """sha256 of the hex-decoded key: the token the SDKs present as ``Authorization: Bearer``."""
    text = strip_prefix(key)
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ValidationError(
            "signing key must be an even-length hex string", "signing_key"
        ) from None
    return hashlib.sha256(raw).hexdigest()


def _same(a: str, b: str) -> bool:
    # Constant time, and bytes so that non-ASCII input compares instead of raising.
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def bearer_ok(authorization: str | None, keys: Sequence[str]) -> bool:
    """Whether an ``Authorization`` header proves knowledge of one of ``keys``.

    TS sends ``Bearer signkey-<env>-<hash>``, PY ``Bearer <hash>``; both normalise to the hash.
    The raw key text is accepted too, as the reference server does.
    """
    if not authorization:
        return False
    token = authorization.strip()
    if token[: len(_BEARER)].lower() == _BEARER:
        token = token[len(_BEARER) :].strip()
    token = strip_prefix(token)
    if not token:
        return False
    accepted = False
    for key in keys:
        text = strip_prefix(key)
        if not text:
            continue
        # No early return: every configured key costs the same, whichever one matches.
        accepted |= _same(token, text)
        with contextlib.suppress(ValidationError):  # a non-hex key has no hashed form
            accepted |= _same(token, hashed_key(key))
    return accepted


def parse_signature(header: str) -> tuple[str, str] | None:
    """``(t, s)`` texts of a ``t=<unix s>&s=<hex>`` header, or None when it is malformed."""
    fields: dict[str, str] = {}
    for part in header.strip().split("&"):
        name, sep, value = part.partition("=")
        if sep:
            fields[name.strip()] = value.strip()
    t, s = fields.get("t", ""), fields.get("s", "")
    if not s or not t.isascii() or not t.lstrip("-").isdigit():
        return None
    return t, s


def verify_response_signature(
    header: str | None,
    body: bytes,
    keys: Sequence[str],
    *,
    now_s: int | None = None,
    max_skew_s: int = 300,
) -> bool:
    """Whether an SDK answer's ``X-Inngest-Signature`` matches ``body`` under one of ``keys``.

    SDKs sign the raw answer bytes, not a canonical form. With ``now_s`` set, a ``t`` further than
    ``max_skew_s`` from it is refused, the window the TS SDK applies to our own requests.
    """
    if not header:
        return False
    parsed = parse_signature(header)
    if parsed is None:
        return False
    t, s = parsed
    if now_s is not None and abs(now_s - int(t)) > max_skew_s:
        return False
    ok = False
    for key in keys:
        if strip_prefix(key):
            # The MAC covers ``t`` exactly as written, so the text is used, not int(t).
            ok |= _same(s, _mac(body, key, t))
    return ok
