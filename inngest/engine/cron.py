"""Cron schedules, pure: parsing an expression and finding its next tick (PROTOCOL.md §6.15).

The dialect is the one Inngest functions are written for (Go's robfig/cron v3 with optional
seconds): five fields ``minute hour day-of-month month day-of-week``, or six with the seconds
field first; ``*``, ``?``, lists, ranges, steps and ``N/step``; month and weekday names; the
descriptors ``@yearly`` ``@annually`` ``@monthly`` ``@weekly`` ``@daily`` ``@midnight``
``@hourly`` and ``@every <duration>``; and a ``TZ=<zone>`` or ``CRON_TZ=<zone>`` prefix (UTC
otherwise).

Times are matched on the zone's wall clock but searched in absolute time, as the reference does:
a wall time skipped by a spring-forward transition does not fire that day, and one repeated by a
fall-back transition fires at both instants. Ticks carry distinct UTC ids, so both are distinct.

``@every`` ticks are aligned on the Unix epoch rather than on when the schedule was loaded, so a
re-sync (or a restart) computes the same next tick and the tick id keeps deduplicating it.
"""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from inngest.errors import ValidationError
from inngest.protocol import durations

# The reference gives up after five years; a schedule with no tick that soon has none.
HORIZON_YEARS = 5
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)

_DESCRIPTORS = {
    "@yearly": "0 0 0 1 1 *",
    "@annually": "0 0 0 1 1 *",
    "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0",
    "@daily": "0 0 0 * * *",
    "@midnight": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
}
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_WEEKDAYS = {
    name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))
}


class CronError(ValidationError):
    """A cron expression that cannot be parsed, or that can never fire."""


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int] | None = None


_FIELDS = (
    _Field("second", 0, 59),
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day of week", 0, 6, _WEEKDAYS),
)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A parsed expression. ``every`` is set for ``@every``; the field sets otherwise."""

    source: str
    zone: tzinfo
    every: timedelta | None = None
    seconds: frozenset[int] = frozenset()
    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    days: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    weekdays: frozenset[int] = frozenset()  # 0 = Sunday
    # Whether day of month / day of week were written as `*` or `?`: then a day must match
    # both fields; when both are restricted, matching either one is enough (classic cron).
    days_star: bool = True
    weekdays_star: bool = True

    def next_after(self, after: datetime) -> datetime | None:
        """The first tick strictly after ``after`` (aware), in UTC, on a whole second; None
        when there is none within the horizon."""
        if after.tzinfo is None:
            # A naive time would silently be read as the host's local time.
            raise ValueError("next_after needs an aware datetime")
        start = after.astimezone(UTC)
        if self.every is not None:
            step = int(self.every.total_seconds())
            elapsed = (start - _EPOCH) // _SECOND
            return _EPOCH + timedelta(seconds=(elapsed // step + 1) * step)
        return self._search(start.replace(microsecond=0) + _SECOND)

    def _search(self, t: datetime) -> datetime | None:
        # Each step moves t (a UTC instant) forward to the next instant that could match at the
        # failing field's granularity; the wall clock is re-read every time, so offsets that
        # change on the way (DST) are accounted for.
        limit = t.astimezone(self.zone).year + HORIZON_YEARS
        while True:
            wall = t.astimezone(self.zone)
            if wall.year > limit:
                return None
            if wall.month not in self.months:
                year, month = (
                    (wall.year + 1, 1) if wall.month == 12 else (wall.year, wall.month + 1)
                )
                t = self._first_instant(date(year, month, 1))
            elif not self._day_matches(wall):
                t = self._first_instant(wall.date() + timedelta(days=1))
            elif wall.hour not in self.hours or (
                (minute := _next_in(self.minutes, wall.minute)) is None
            ):
                # On to the next wall-clock hour (one hour at a time: an offset change skips
                # or repeats an hour, and the next turn reads the wall clock again).
                t += timedelta(hours=1) - timedelta(minutes=wall.minute, seconds=wall.second)
            elif minute != wall.minute:
                t += timedelta(minutes=minute - wall.minute, seconds=-wall.second)
            elif (second := _next_in(self.seconds, wall.second)) is None:
                t += timedelta(minutes=1, seconds=-wall.second)
            else:
                return t + timedelta(seconds=second - wall.second)

    def _day_matches(self, wall: datetime) -> bool:
        in_days = wall.day in self.days
        # isoweekday: Monday 1 .. Sunday 7; cron: Sunday 0 .. Saturday 6.
        in_weekdays = wall.isoweekday() % 7 in self.weekdays
        if self.days_star or self.weekdays_star:
            return in_days and in_weekdays
        return in_days or in_weekdays

    def _first_instant(self, day: date) -> datetime:
        # Local midnight; where a transition skips midnight, fold=0 resolves it with the earlier
        # offset, which lands on the first instant that does exist that day.
        return datetime.combine(day, time(0), tzinfo=self.zone).astimezone(UTC)


def _next_in(values: frozenset[int], current: int) -> int | None:
    candidates = [v for v in values if v >= current]
    return min(candidates) if candidates else None


def parse(expression: str) -> Schedule:
    """Parse ``expression``; raises CronError saying what is wrong with it."""
    spec = expression.strip()
    if not spec:
        raise CronError("empty cron expression", "cron")
    zone: tzinfo = UTC
    if spec.startswith(("TZ=", "CRON_TZ=")):
        prefix, _, spec = spec.partition(" ")
        zone = _zone(prefix.partition("=")[2])
        spec = spec.strip()
        if not spec:
            raise CronError(f"nothing after {prefix!r}", "cron")
    if spec.startswith("@"):
        return _descriptor(expression, spec, zone)
    fields = spec.split()
    if len(fields) not in (5, 6):
        raise CronError(
            f"expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds "
            f"first, found {len(fields)}",
            "cron",
        )
    if len(fields) == 5:
        fields = ["0", *fields]
    parsed = [_parse_field(text, field) for text, field in zip(fields, _FIELDS, strict=True)]
    schedule = Schedule(
        source=expression,
        zone=zone,
        seconds=parsed[0][0],
        minutes=parsed[1][0],
        hours=parsed[2][0],
        days=parsed[3][0],
        months=parsed[4][0],
        weekdays=parsed[5][0],
        days_star=parsed[3][1],
        weekdays_star=parsed[5][1],
    )
    _check_can_fire(schedule)
    return schedule


def _zone(name: str) -> tzinfo:
    if not name:
        raise CronError("empty time zone after TZ=", "cron")
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(f"unknown time zone {name!r}", "cron") from None


def _descriptor(expression: str, spec: str, zone: tzinfo) -> Schedule:
    word, _, rest = spec.partition(" ")
    if word == "@every":
        try:
            every = durations.parse_duration(rest.strip())
        except ValidationError:
            raise CronError(f"@every: invalid duration {rest.strip()!r}", "cron") from None
        # Ticks are whole seconds, like the reference's; shorter intervals are a mistake.
        every -= timedelta(microseconds=every.microseconds)
        if every < _SECOND:
            raise CronError("@every: the interval must be at least 1s", "cron")
        return Schedule(source=expression, zone=zone, every=every)
    fields = _DESCRIPTORS.get(word.lower())
    if fields is None or rest.strip():
        raise CronError(f"unrecognised descriptor {spec!r}", "cron")
    schedule = parse(fields)
    return Schedule(
        source=expression,
        zone=zone,
        seconds=schedule.seconds,
        minutes=schedule.minutes,
        hours=schedule.hours,
        days=schedule.days,
        months=schedule.months,
        weekdays=schedule.weekdays,
        days_star=schedule.days_star,
        weekdays_star=schedule.weekdays_star,
    )


def _parse_field(text: str, field: _Field) -> tuple[frozenset[int], bool]:
    """The field's values, and whether it counts as ``*`` for the day-matching rule."""
    values: set[int] = set()
    star = False
    for part in text.split(","):
        part_values, part_star = _parse_range(part, field)
        values |= part_values
        star = star or part_star
    return frozenset(values), star


def _parse_range(part: str, field: _Field) -> tuple[set[int], bool]:
    where = f"{field.name} field {part!r}"
    range_text, slash, step_text = part.partition("/")
    if "/" in step_text:
        raise CronError(f"{where}: more than one '/'", "cron")
    star = range_text in ("*", "?")
    if star:
        low, high = field.low, field.high
    else:
        low_text, dash, high_text = range_text.partition("-")
        if "-" in high_text:
            raise CronError(f"{where}: more than one '-'", "cron")
        low = _value(low_text, field, where)
        high = _value(high_text, field, where) if dash else low
        if slash and not dash:
            high = field.high  # "N/step" means from N to the end of the field
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) == 0:
            raise CronError(f"{where}: the step must be a positive number", "cron")
        step = int(step_text)
        # "*/2" restricts the field; only a bare "*" (or "*/1") leaves it unconstrained.
        star = star and step == 1
    if low < field.low:
        raise CronError(f"{where}: {low} is below the minimum {field.low}", "cron")
    if high > field.high:
        raise CronError(f"{where}: {high} is above the maximum {field.high}", "cron")
    if low > high:
        raise CronError(f"{where}: range start {low} is after its end {high}", "cron")
    return set(range(low, high + 1, step)), star


def _value(text: str, field: _Field, where: str) -> int:
    if text.isascii() and text.isdigit():
        return int(text)
    if field.names is not None and text.lower() in field.names:
        return field.names[text.lower()]
    raise CronError(f"{where}: {text!r} is not a valid {field.name}", "cron")


def _check_can_fire(schedule: Schedule) -> None:
    # Only a day of month that no listed month has (30 February) makes an expression dead: a
    # restricted weekday occurs in every month, and with both restricted either one suffices.
    if schedule.days_star or not schedule.weekdays_star:
        return
    longest = max(calendar.monthrange(2000, month)[1] for month in schedule.months)
    if min(schedule.days) > longest:
        raise CronError(
            f"never fires: no month in {sorted(schedule.months)} has day {min(schedule.days)}",
            "cron",
        )


def rfc3339(moment: datetime) -> str:
    """``2026-01-30T12:00:00Z``, with milliseconds only when there are any."""
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond // 1000:03d}"
    return text + "Z"


def jitter_delay(jitter: timedelta, key: str) -> timedelta:
    """A delay in ``[0, jitter)`` derived from ``key`` (function and tick): the same tick always
    gets the same delay, so a re-sync or a second scheduler agrees on the fire time."""
    span_ms = int(jitter.total_seconds() * 1000)
    if span_ms <= 0:
        return timedelta(0)
    digest = hashlib.sha256(key.encode()).digest()
    return timedelta(milliseconds=int.from_bytes(digest[:8], "big") % span_ms)
