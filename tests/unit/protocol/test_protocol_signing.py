"""Signing keys, request signatures and Bearer tokens against the captured SDK values."""

from __future__ import annotations

import hashlib
import hmac
import random
from typing import Any

import jcs
import pytest

from inngest.errors import ValidationError
from inngest.protocol import signing

# The key of the capture runs: "9f2b" repeated to 64 hex characters.
KEY_HEX = "9f2b" * 16
KEY = f"signkey-test-{KEY_HEX}"
CAPTURED_HASH = "f2f8c3573deed575460d032b9cf2c343fa911a4774650317a3cffb3b11f787e5"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("signkey-test-abcd", "abcd"),
        ("signkey-prod-abcd", "abcd"),
        ("signkey-branch-abcd", "abcd"),
        ("abcd", "abcd"),
        ("signkey-abcd", "signkey-abcd"),  # no environment word: not a prefix
        ("xsignkey-test-abcd", "xsignkey-test-abcd"),
        ("signkey-test-signkey-prod-ab", "signkey-prod-ab"),  # only one prefix is removed
    ],
)
def test_strip_prefix(key: str, expected: str) -> None:
    assert signing.strip_prefix(key) == expected


def test_hashed_key_matches_the_captured_bearer_hash() -> None:
    assert signing.hashed_key(KEY) == CAPTURED_HASH
    assert signing.hashed_key(KEY_HEX) == CAPTURED_HASH
    assert signing.hashed_key("signkey-prod-" + KEY_HEX) == CAPTURED_HASH


@pytest.mark.parametrize("key", ["signkey-test-xyz", "abc", "signkey-prod-0g"])
def test_hashed_key_rejects_non_hex(key: str) -> None:
    with pytest.raises(ValidationError):
        signing.hashed_key(key)


@pytest.mark.parametrize(
    ("authorization", "ok"),
    [
        (f"Bearer signkey-test-{CAPTURED_HASH}", True),  # TS, captured
        (f"Bearer {CAPTURED_HASH}", True),  # PY, captured
        (f"bearer {CAPTURED_HASH}", True),
        (f"Bearer signkey-prod-{CAPTURED_HASH}", True),  # another env prefix normalises too
        (f"Bearer {KEY_HEX}", True),  # the raw key text, as the reference server accepts
        (f"Bearer {KEY}", True),
        (CAPTURED_HASH, True),  # no scheme word
        ("Bearer undefined", False),  # TS in dev mode
        ("Bearer ", False),
        ("", False),
        (None, False),
        ("Bearer " + "0" * 64, False),
        ("Bearer " + CAPTURED_HASH[:-1], False),
        ("Bearer é" + CAPTURED_HASH, False),
    ],
)
def test_bearer_ok(authorization: str | None, ok: bool) -> None:
    assert signing.bearer_ok(authorization, [KEY]) is ok


def test_bearer_ok_tries_every_key_and_survives_bad_ones() -> None:
    fallback = "signkey-prod-" + "ab" * 32
    assert signing.bearer_ok(f"Bearer {CAPTURED_HASH}", ["not-hex", fallback, KEY])
    assert not signing.bearer_ok(f"Bearer {CAPTURED_HASH}", [fallback])
    assert not signing.bearer_ok(f"Bearer {CAPTURED_HASH}", [])
    assert not signing.bearer_ok("Bearer signkey-prod-", ["signkey-prod-"])


def test_canonical_is_jcs() -> None:
    obj = {"b": [1, 2.5, "x"], "a": {"z": None, "é": True}}
    assert signing.canonical(obj) == jcs.canonicalize(obj)
    assert signing.canonical(obj) == '{"a":{"z":null,"é":true},"b":[1,2.5,"x"]}'.encode()


@pytest.mark.parametrize("body", [b"", b'{"url":"http://127.0.0.1:3000/api/inngest"}', b"[1,2]"])
def test_signature_header_round_trip(body: bytes) -> None:
    header = signing.signature_header(body, KEY, 1_796_039_087)
    t, s = header.split("&")
    assert t == "t=1796039087"
    # The MAC key is the hex TEXT without the prefix; the message is body + t.
    expected = hmac.new(KEY_HEX.encode(), body + b"1796039087", hashlib.sha256).hexdigest()
    assert s == f"s={expected}"
    assert signing.verify_response_signature(header, body, [KEY])
    assert signing.verify_response_signature(header, body, ["other", KEY_HEX])


def test_signature_matches_the_documented_helper() -> None:
    # The helper the wire contract used against both SDKs in cloud mode.
    body_obj = {"ctx": {"run_id": "R"}, "steps": {}}
    raw = jcs.canonicalize(body_obj)
    helper = "t=100&s=" + hmac.new(KEY_HEX.encode(), raw + b"100", hashlib.sha256).hexdigest()
    assert signing.signature_header(signing.canonical(body_obj), KEY, 100) == helper


@pytest.mark.parametrize(
    ("header", "body", "now_s", "ok"),
    [
        (None, b"x", None, False),
        ("", b"x", None, False),
        ("garbage", b"x", None, False),
        ("t=abc&s=00", b"x", None, False),
        ("t=100", b"x", None, False),
        ("SIGNED", b"x", 100, True),
        ("SIGNED", b"y", 100, False),  # another body
        ("SIGNED", b"x", 400, True),  # exactly at the 300 s window
        ("SIGNED", b"x", 401, False),  # too old
        ("SIGNED", b"x", -201, False),  # too far in the future
    ],
)
def test_verify_response_signature(
    header: str | None, body: bytes, now_s: int | None, ok: bool
) -> None:
    if header == "SIGNED":
        header = signing.signature_header(b"x", KEY, 100)
    assert signing.verify_response_signature(header, body, [KEY], now_s=now_s) is ok


def test_verify_uses_t_as_written() -> None:
    mac = hmac.new(KEY_HEX.encode(), b"x" + b"0100", hashlib.sha256).hexdigest()
    assert signing.verify_response_signature(f"t=0100&s={mac}", b"x", [KEY])
    assert not signing.verify_response_signature(f"t=100&s={mac}", b"x", [KEY])


_ALPHABET = ["a", "Z", "0", "9", ".", "e", "E", '"', "\\", "\n", "\x00", "\x1f", "\x7f", "é", "€",
             "\u2028", "😀", "\U0001f600x", "\ufeff", "/", " "]  # fmt: skip


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.choice([0, -1, 7, 2**53, 2**53 + 1, -(2**60), 10**15, 10**16, 1764500000000])
    if kind == 2:
        return rng.choice([0.0, -0.0, 1.0, 1.5, 1e21, 1e-7, 123456789.125, 5e-324, 1e300])
    if kind in (3, 4, 5):
        return "".join(rng.choice(_ALPHABET) for _ in range(rng.randrange(8)))
    if kind in (6, 7):
        return {
            "".join(rng.choice(_ALPHABET) for _ in range(rng.randrange(4))): _random_json(
                rng, depth + 1
            )
            for _ in range(rng.randrange(5))
        }
    return [_random_json(rng, depth + 1) for _ in range(rng.randrange(5))]


def test_canonical_agrees_with_jcs_on_random_values() -> None:
    rng = random.Random(8785)
    for _ in range(3000):
        value = _random_json(rng)
        assert signing.canonical(value) == jcs.canonicalize(value), value
