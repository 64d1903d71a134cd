"""Durations and instants as the SDKs write them: ``2h30m``, ISO instants, ``Retry-After``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, DecimalException
from email.utils import parsedate_to_datetime

from inngest.errors import ProtocolError

_NS_PER_UNIT: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 MICRO SIGN
    "μs": 1_000,  # U+03BC GREEK SMALL LETTER MU; Go accepts both spellings
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3_600 * 1_000_000_000,
    "d": 86_400 * 1_000_000_000,
    "w": 7 * 86_400 * 1_000_000_000,
}
# Longer units first, so "ms" is not read as "m" followed by garbage.
_UNITS = "|".join(sorted(_NS_PER_UNIT, key=len, reverse=True))
_TERM = re.compile(rf"([0-9]+\.?[0-9]*|\.[0-9]+)({_UNITS})")

# A date string is at least "YYYY-MM-DD"; anything shorter is a duration (the reference rule).
_MIN_DATE_CHARS = 10
# Retry-After of at most this many characters is integer seconds, longer ones are instants.
_MAX_SECONDS_CHARS = 7
_RETRY_MIN = timedelta(seconds=1)
_RETRY_MAX = timedelta(hours=24)


def _show(text: str) -> str:
    # Error messages quote the input, but never a megabyte of it.
    return repr(text if len(text) <= 64 else text[:61] + "...")


def parse_duration(text: str) -> timedelta:
    """A Go-style duration: ``90s``, ``1.5h``, ``2h30m``, ``1d``, ``1w``; an optional sign; ``0``.

    Units may repeat and combine in any order, as ``time.ParseDuration`` allows. Precision stops at
    the microsecond (timedelta's), rounding nanoseconds down.
    """
    s = text.strip()
    sign = 1
    if s and s[0] in "+-":
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return timedelta(0)
    if not s:
        raise ProtocolError(f"invalid duration {_show(text)}: empty", "duration")
    total_ns = Decimal(0)
    pos = 0
    while pos < len(s):
        match = _TERM.match(s, pos)
        if match is None:
            raise ProtocolError(
                f"invalid duration {_show(text)}: expected <number><unit> with a unit of "
                "ns, us, ms, s, m, h, d or w",
                "duration",
            )
        try:
            total_ns += Decimal(match.group(1)) * _NS_PER_UNIT[match.group(2)]
        except DecimalException:
            raise ProtocolError(f"invalid duration {_show(text)}", "duration") from None
        pos = match.end()
    try:
        return timedelta(microseconds=sign * int(total_ns // 1000))
    except (OverflowError, DecimalException):
        raise ProtocolError(f"invalid duration {_show(text)}: out of range", "duration") from None


def parse_instant(text: str) -> datetime:
    """An ISO-8601 / RFC 3339 instant (``Z``, an offset, or none meaning UTC), in UTC."""
    s = text.strip()
    # RFC 3339 allows lower-case separators; fromisoformat does not.
    if len(s) > _MIN_DATE_CHARS and s[_MIN_DATE_CHARS] == "t":
        s = s[:_MIN_DATE_CHARS] + "T" + s[_MIN_DATE_CHARS + 1 :]
    if s.endswith("z"):
        s = s[:-1] + "Z"
    try:
        moment = datetime.fromisoformat(s)
    except ValueError:
        raise ProtocolError(
            f"invalid instant {_show(text)}: expected ISO-8601", "instant"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_time_or_duration(text: str, now: datetime) -> datetime:
    """When a ``Sleep`` (or a timeout) ends: an instant if the text is a date, else now + duration.

    Instants in the past, and negative durations, end now: the wait is already over.
    """
    if len(text.strip()) >= _MIN_DATE_CHARS:
        try:
            return max(parse_instant(text), now)
        except ProtocolError:
            pass  # "2h30m15s10ms" is long but still a duration
    delta = parse_duration(text)
    try:
        return max(now + delta, now)
    except OverflowError:
        raise ProtocolError(f"invalid duration {_show(text)}: out of range", "duration") from None


def parse_retry_after(value: str, now: datetime) -> datetime:
    """When a ``Retry-After`` header allows the next attempt; the delay is clamped to [1 s, 24 h].

    TS sends integer seconds (``30``), PY an ISO instant with milliseconds; HTTP-dates work too.
    """
    s = value.strip()
    if not s:
        raise ProtocolError("invalid Retry-After: empty", "retry-after")
    if len(s) <= _MAX_SECONDS_CHARS:
        if not (s.isascii() and s.lstrip("+-").isdigit()):
            raise ProtocolError(
                f"invalid Retry-After {_show(value)}: expected seconds", "retry-after"
            )
        delay = timedelta(seconds=int(s))
    else:
        delay = _instant_or_http_date(s) - now
    return now + min(max(delay, _RETRY_MIN), _RETRY_MAX)


def _instant_or_http_date(text: str) -> datetime:
    try:
        return parse_instant(text)
    except ProtocolError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise ProtocolError(
            f"invalid Retry-After {_show(text)}: expected seconds or an instant", "retry-after"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
