"""Cron expressions: parsing, next ticks (time zones and DST included), jitter, clear errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inngest.engine import cron
from inngest.errors import ValidationError

# A Saturday.
START = datetime(2026, 1, 3, 10, 17, 42, 500_000, tzinfo=UTC)


def ticks(expression: str, after: datetime = START, count: int = 3) -> list[str]:
    schedule = cron.parse(expression)
    found: list[str] = []
    moment = after
    for _ in range(count):
        upcoming = schedule.next_after(moment)
        assert upcoming is not None
        found.append(cron.rfc3339(upcoming))
        moment = upcoming
    return found


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("* * * * *", ["2026-01-03T10:18:00Z", "2026-01-03T10:19:00Z", "2026-01-03T10:20:00Z"]),
        ("*/20 * * * *", ["2026-01-03T10:20:00Z", "2026-01-03T10:40:00Z", "2026-01-03T11:00:00Z"]),
        ("5 * * * *", ["2026-01-03T11:05:00Z", "2026-01-03T12:05:00Z", "2026-01-03T13:05:00Z"]),
        ("0 9-10 * * *", ["2026-01-04T09:00:00Z", "2026-01-04T10:00:00Z", "2026-01-05T09:00:00Z"]),
        (
            "15,45 12 * * *",
            ["2026-01-03T12:15:00Z", "2026-01-03T12:45:00Z", "2026-01-04T12:15:00Z"],
        ),
        ("0 0 1 * *", ["2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"]),
        ("0 0 31 * *", ["2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z"]),
        ("0 12 * * 5", ["2026-01-09T12:00:00Z", "2026-01-16T12:00:00Z", "2026-01-23T12:00:00Z"]),
        (
            "0 8 * * MON-fri",
            ["2026-01-05T08:00:00Z", "2026-01-06T08:00:00Z", "2026-01-07T08:00:00Z"],
        ),
        (
            "0 0 1 jan,Jul *",
            ["2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z", "2027-07-01T00:00:00Z"],
        ),
        # "N/step" runs from N to the end of the field.
        ("0 20/2 * * *", ["2026-01-03T20:00:00Z", "2026-01-03T22:00:00Z", "2026-01-04T20:00:00Z"]),
        # Both day fields restricted: either one matching is enough (classic cron).
        ("0 0 13 * 5", ["2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z", "2026-01-16T00:00:00Z"]),
        # A stepped star restricts its field, so the two day fields are OR-ed again.
        ("0 0 */10 * 1", ["2026-01-05T00:00:00Z", "2026-01-11T00:00:00Z", "2026-01-12T00:00:00Z"]),
        # `?` is `*`: the weekday alone decides.
        ("0 0 ? * 1", ["2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z", "2026-01-19T00:00:00Z"]),
        ("0 0 29 2 *", ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z", "2036-02-29T00:00:00Z"]),
        # Six fields: seconds come first.
        ("30 * * * * *", ["2026-01-03T10:18:30Z", "2026-01-03T10:19:30Z", "2026-01-03T10:20:30Z"]),
        (
            "*/15 * * * * *",
            ["2026-01-03T10:17:45Z", "2026-01-03T10:18:00Z", "2026-01-03T10:18:15Z"],
        ),
        ("0 30 9 * * *", ["2026-01-04T09:30:00Z", "2026-01-05T09:30:00Z", "2026-01-06T09:30:00Z"]),
        # Extra whitespace between fields is fine.
        (
            "  0   12  *  *  5 ",
            ["2026-01-09T12:00:00Z", "2026-01-16T12:00:00Z", "2026-01-23T12:00:00Z"],
        ),
    ],
)
def test_fields(expression: str, expected: list[str]) -> None:
    assert ticks(expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("@hourly", ["2026-01-03T11:00:00Z", "2026-01-03T12:00:00Z", "2026-01-03T13:00:00Z"]),
        ("@daily", ["2026-01-04T00:00:00Z", "2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z"]),
        ("@midnight", ["2026-01-04T00:00:00Z", "2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z"]),
        ("@weekly", ["2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z", "2026-01-18T00:00:00Z"]),
        ("@monthly", ["2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"]),
        ("@yearly", ["2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", "2029-01-01T00:00:00Z"]),
        ("@annually", ["2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", "2029-01-01T00:00:00Z"]),
        # @every is aligned on the Unix epoch, so any process computes the same ticks.
        ("@every 1h30m", ["2026-01-03T10:30:00Z", "2026-01-03T12:00:00Z", "2026-01-03T13:30:00Z"]),
        ("@every 45s", ["2026-01-03T10:18:00Z", "2026-01-03T10:18:45Z", "2026-01-03T10:19:30Z"]),
        ("@every 1.5s", ["2026-01-03T10:17:43Z", "2026-01-03T10:17:44Z", "2026-01-03T10:17:45Z"]),
        (
            "TZ=Europe/Paris @daily",
            ["2026-01-03T23:00:00Z", "2026-01-04T23:00:00Z", "2026-01-05T23:00:00Z"],
        ),
    ],
)
def test_descriptors(expression: str, expected: list[str]) -> None:
    assert ticks(expression) == expected


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # Winter: Paris is UTC+1.
        (
            "TZ=Europe/Paris 0 12 * * 5",
            START,
            ["2026-01-09T11:00:00Z", "2026-01-16T11:00:00Z", "2026-01-23T11:00:00Z"],
        ),
        # Summer: UTC+2.
        (
            "CRON_TZ=Europe/Paris 0 12 * * 5",
            datetime(2026, 7, 1, tzinfo=UTC),
            ["2026-07-03T10:00:00Z", "2026-07-10T10:00:00Z", "2026-07-17T10:00:00Z"],
        ),
        (
            "TZ=America/New_York 0 9 * * *",
            START,
            ["2026-01-03T14:00:00Z", "2026-01-04T14:00:00Z", "2026-01-05T14:00:00Z"],
        ),
        # Half-hour offsets.
        (
            "TZ=Asia/Kolkata 0 9 * * *",
            START,
            ["2026-01-04T03:30:00Z", "2026-01-05T03:30:00Z", "2026-01-06T03:30:00Z"],
        ),
        (
            "TZ=UTC 0 9 * * *",
            START,
            ["2026-01-04T09:00:00Z", "2026-01-05T09:00:00Z", "2026-01-06T09:00:00Z"],
        ),
        # Spring forward (Paris, 2026-03-29 02:00 -> 03:00): 02:30 does not exist that day.
        (
            "TZ=Europe/Paris 30 2 * * *",
            datetime(2026, 3, 27, 12, tzinfo=UTC),
            ["2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"],
        ),
        # ... and an every-30-minutes schedule simply has no ticks in the missing hour.
        (
            "TZ=Europe/Paris */30 * * * *",
            datetime(2026, 3, 29, 0, 0, tzinfo=UTC),
            ["2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"],
        ),
        # The day's first tick right after the change is at 03:00 local.
        (
            "TZ=Europe/Paris 0 3 * * *",
            datetime(2026, 3, 28, 12, tzinfo=UTC),
            ["2026-03-29T01:00:00Z", "2026-03-30T01:00:00Z", "2026-03-31T01:00:00Z"],
        ),
        # Fall back (Paris, 2026-10-25 03:00 -> 02:00): 02:30 happens twice, and both instants
        # tick (as the reference does); their ids differ.
        (
            "TZ=Europe/Paris 30 2 * * *",
            datetime(2026, 10, 24, 12, tzinfo=UTC),
            ["2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z"],
        ),
        # Daily midnight keeps to local midnight across the change.
        (
            "TZ=Europe/Paris 0 0 * * *",
            datetime(2026, 10, 24, 12, tzinfo=UTC),
            ["2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z", "2026-10-26T23:00:00Z"],
        ),
    ],
)
def test_time_zones(expression: str, after: datetime, expected: list[str]) -> None:
    assert ticks(expression, after) == expected


def test_next_is_strictly_after_and_on_a_whole_second() -> None:
    schedule = cron.parse("* * * * *")
    on_tick = datetime(2026, 1, 3, 10, 18, tzinfo=UTC)
    assert schedule.next_after(on_tick) == datetime(2026, 1, 3, 10, 19, tzinfo=UTC)
    assert schedule.next_after(on_tick - timedelta(microseconds=1)) == on_tick
    paris = cron.parse("TZ=Europe/Paris 0 12 * * *").next_after(START)
    assert paris is not None
    assert paris.tzinfo is UTC
    assert paris.microsecond == 0


def test_after_may_be_in_any_zone_but_not_naive() -> None:
    schedule = cron.parse("0 * * * *")
    other = START.astimezone(cron.parse("TZ=Asia/Tokyo * * * * *").zone)
    assert schedule.next_after(other) == schedule.next_after(START)
    with pytest.raises(ValueError, match="aware"):
        schedule.next_after(START.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "empty cron expression"),
        ("   ", "empty cron expression"),
        ("* * * *", "expected 5 fields"),
        ("* * * * * * *", "found 7"),
        ("60 * * * *", "minute field '60': 60 is above the maximum 59"),
        ("* 24 * * *", "hour field '24': 24 is above the maximum 23"),
        ("* * 0 * *", "day of month field '0': 0 is below the minimum 1"),
        ("* * * 13 *", "month field '13': 13 is above the maximum 12"),
        ("* * * * 7", "day of week field '7': 7 is above the maximum 6"),
        ("60 * * * * *", "second field '60'"),
        ("5-1 * * * *", "range start 5 is after its end 1"),
        ("*/0 * * * *", "the step must be a positive number"),
        ("*/x * * * *", "the step must be a positive number"),
        ("1/2/3 * * * *", "more than one '/'"),
        ("1-2-3 * * * *", "more than one '-'"),
        ("1,,2 * * * *", "'' is not a valid minute"),
        ("L * * * *", "'L' is not a valid minute"),
        ("* * * JANUARY *", "'JANUARY' is not a valid month"),
        ("* * * * MON#2", "'MON#2' is not a valid day of week"),
        ("* * * * jan", "'jan' is not a valid day of week"),
        ("-1 * * * *", "'' is not a valid minute"),
        ("0 0 30 2 *", "never fires"),
        ("0 0 31 4,6 *", "never fires"),
        ("TZ=Mars/Olympus * * * * *", "unknown time zone 'Mars/Olympus'"),
        ("TZ= * * * * *", "empty time zone"),
        ("TZ=Europe/Paris", "nothing after 'TZ=Europe/Paris'"),
        ("@often", "unrecognised descriptor '@often'"),
        ("@daily extra", "unrecognised descriptor"),
        ("@every", "@every: invalid duration ''"),
        ("@every soon", "@every: invalid duration 'soon'"),
        ("@every 500ms", "at least 1s"),
        ("@every -1h", "at least 1s"),
    ],
)
def test_invalid_expressions(expression: str, message: str) -> None:
    with pytest.raises(cron.CronError) as raised:
        cron.parse(expression)
    assert message in raised.value.message
    # A validation error: the API turns it into a 400 naming function and field.
    assert isinstance(raised.value, ValidationError)


def test_day_of_month_with_weekdays_or_is_never_dead() -> None:
    # 30 February OR any Monday: fires on Mondays.
    assert ticks("0 0 30 2 1", count=1) == ["2026-02-02T00:00:00Z"]


def test_rfc3339() -> None:
    assert cron.rfc3339(datetime(2026, 1, 3, 10, 0, tzinfo=UTC)) == "2026-01-03T10:00:00Z"
    assert cron.rfc3339(datetime(2026, 1, 3, 10, 0, 0, 250_000, tzinfo=UTC)) == (
        "2026-01-03T10:00:00.250Z"
    )
    paris = cron.parse("TZ=Europe/Paris * * * * *").zone
    assert cron.rfc3339(datetime(2026, 1, 3, 11, 0, tzinfo=paris)) == "2026-01-03T10:00:00Z"


def test_jitter_is_deterministic_and_bounded() -> None:
    span = timedelta(seconds=30)
    delays = {cron.jitter_delay(span, f"fn:2026-01-03T10:{m:02d}:00Z") for m in range(60)}
    assert all(timedelta(0) <= d < span for d in delays)
    assert len(delays) > 30  # spread out, not one value
    assert cron.jitter_delay(span, "fn:a") == cron.jitter_delay(span, "fn:a")
    assert cron.jitter_delay(timedelta(0), "fn:a") == timedelta(0)


def test_source_is_kept() -> None:
    assert cron.parse("TZ=Europe/Paris 0 12 * * 5").source == "TZ=Europe/Paris 0 12 * * 5"
    assert cron.parse("@every 1h").every == timedelta(hours=1)
