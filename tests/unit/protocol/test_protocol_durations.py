"""Go-style durations, the Sleep time-or-duration rule, and Retry-After forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inngest.errors import ProtocolError
from inngest.protocol import durations

NOW = datetime(2026, 11, 30, 11, 43, 40, 728000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1s", timedelta(seconds=1)),
        ("90s", timedelta(seconds=90)),
        ("1m", timedelta(minutes=1)),
        ("2h30m", timedelta(hours=2, minutes=30)),
        ("1.5s", timedelta(seconds=1.5)),
        (".5m", timedelta(seconds=30)),
        ("1.5h", timedelta(minutes=90)),
        ("500ms", timedelta(milliseconds=500)),
        ("250us", timedelta(microseconds=250)),
        ("250µs", timedelta(microseconds=250)),  # micro sign
        ("250μs", timedelta(microseconds=250)),  # greek mu
        ("1500ns", timedelta(microseconds=1)),  # below a microsecond rounds down
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        (
            "1w2d3h4m5s6ms",
            timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5, milliseconds=6),
        ),
        ("1h1h", timedelta(hours=2)),  # units may repeat
        ("30m1h", timedelta(minutes=90)),  # in any order
        ("0", timedelta(0)),
        ("0s", timedelta(0)),
        ("+5s", timedelta(seconds=5)),
        ("-5s", timedelta(seconds=-5)),
        (" 10s ", timedelta(seconds=10)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert durations.parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "1",
        "s",
        "1x",
        "1.s5",
        "1..5s",
        "abc",
        "1e5s",
        "1 s",
        "-",
        "1S",
        "1H",
        "٣s",
        "1" * 400 + "h",
        "9" * 40 + "w",
        "2026-01-01",
    ],
)
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ProtocolError) as info:
        durations.parse_duration(text)
    assert len(info.value.message) < 200  # garbage is quoted, but never in full


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1s", NOW + timedelta(seconds=1)),  # TS sleep
        ("2h30m", NOW + timedelta(hours=2, minutes=30)),
        ("2h30m15s10ms", NOW + timedelta(hours=2, minutes=30, seconds=15, milliseconds=10)),
        ("2026-11-30T11:43:41.728Z", datetime(2026, 11, 30, 11, 43, 41, 728000, tzinfo=UTC)),  # PY
        ("2026-11-30T12:43:41.728+01:00", datetime(2026, 11, 30, 11, 43, 41, 728000, tzinfo=UTC)),
        ("2026-11-30t11:43:41.728z", datetime(2026, 11, 30, 11, 43, 41, 728000, tzinfo=UTC)),
        ("2026-12-01", datetime(2026, 12, 1, tzinfo=UTC)),  # naive means UTC
        ("2025-01-01T00:00:00Z", NOW),  # past instant: now
        ("-5s", NOW),  # negative duration: now
        ("0s", NOW),
    ],
)
def test_parse_time_or_duration(text: str, expected: datetime) -> None:
    assert durations.parse_time_or_duration(text, NOW) == expected


@pytest.mark.parametrize(
    "text", ["", "soon", "2026-13-45T00:00:00Z", "tomorrow!!", "99999999w", "9999999999d"]
)
def test_parse_time_or_duration_rejects(text: str) -> None:
    with pytest.raises(ProtocolError):
        durations.parse_time_or_duration(text, NOW)


@pytest.mark.parametrize(
    ("value", "delay"),
    [
        ("30", timedelta(seconds=30)),  # TS RetryAfterError
        ("0", timedelta(seconds=1)),  # clamped up to 1 s
        ("-10", timedelta(seconds=1)),
        ("9999999", timedelta(hours=24)),  # clamped down to 24 h
        ("86400", timedelta(hours=24)),
        (" 45 ", timedelta(seconds=45)),
        ("2026-11-30T11:45:24.949Z", timedelta(seconds=104, milliseconds=221)),  # PY, captured
        ("2026-11-30T11:43:40.728Z", timedelta(seconds=1)),  # now: clamped to 1 s
        ("2020-01-01T00:00:00Z", timedelta(seconds=1)),  # past
        ("2027-01-01T00:00:00Z", timedelta(hours=24)),  # far future
        ("Mon, 30 Nov 2026 11:44:40 GMT", timedelta(seconds=59, milliseconds=272)),  # HTTP-date
    ],
)
def test_parse_retry_after(value: str, delay: timedelta) -> None:
    assert durations.parse_retry_after(value, NOW) == NOW + delay


@pytest.mark.parametrize("value", ["", "abc", "1.5", "12345678", "not a date at all", "3s"])
def test_parse_retry_after_rejects(value: str) -> None:
    with pytest.raises(ProtocolError):
        durations.parse_retry_after(value, NOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-30T11:43:41.728Z", datetime(2026, 11, 30, 11, 43, 41, 728000, tzinfo=UTC)),
        ("2026-11-30T11:43:41Z", datetime(2026, 11, 30, 11, 43, 41, tzinfo=UTC)),
        ("2026-11-30 11:43:41", datetime(2026, 11, 30, 11, 43, 41, tzinfo=UTC)),
    ],
)
def test_parse_instant(text: str, expected: datetime) -> None:
    assert durations.parse_instant(text) == expected
