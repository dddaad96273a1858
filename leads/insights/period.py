"""The period the insights cover: whole calendar days in one time zone (the person's), from the
first day's midnight to the midnight after the last, and its weeks (Monday to Sunday, the first
and last cut to the period)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cached_property

DAY_SECONDS = 86400
# The ranges offered as "the last N days" (today included), and the longest custom one.
RANGES = (7, 30, 90)
DEFAULT_RANGE = 30
MAX_DAYS = 366


@dataclass(frozen=True)
class Segment:
    """Days `first`… of the period that start at `start` (UTC): `uniform` when every one of
    them is 24 hours long (a day index is then a division), else a single day of a clock change."""

    first: int
    start: datetime
    uniform: bool


@dataclass(frozen=True)
class Period:
    first: date
    last: date  # included
    zone: tzinfo

    @classmethod
    def last_days(cls, days: int, *, today: date, zone: tzinfo) -> Period:
        return cls(first=today - timedelta(days=days - 1), last=today, zone=zone)

    @property
    def length(self) -> int:
        return (self.last - self.first).days + 1

    def day(self, index: int) -> date:
        return self.first + timedelta(days=index)

    @cached_property
    def boundaries(self) -> tuple[datetime, ...]:
        """Each day's local midnight in UTC, and the midnight after the last day: length + 1
        moments. A midnight a clock change skips is read as the law of the zone says, as
        Django's make_aware reads the list's date filters."""
        return tuple(
            datetime.combine(self.day(i), time.min, tzinfo=self.zone).astimezone(UTC)
            for i in range(self.length + 1)
        )

    @property
    def start(self) -> datetime:
        return self.boundaries[0]

    @property
    def end(self) -> datetime:
        return self.boundaries[-1]

    def segments(self) -> list[Segment]:
        """The days as runs of 24-hour days, each day of a clock change a run of its own."""
        bounds = self.boundaries
        found: list[Segment] = []
        i = 0
        while i < self.length:
            uniform = (bounds[i + 1] - bounds[i]).total_seconds() == DAY_SECONDS
            found.append(Segment(first=i, start=bounds[i], uniform=uniform))
            i += 1
            while uniform and i < self.length and _hours_24(bounds[i], bounds[i + 1]):
                i += 1
        return found

    def week_of(self, day_index: int) -> int:
        """The week (0 = the first, Monday to Sunday) a day of the period falls in."""
        return (day_index + self.first.weekday()) // 7

    @property
    def weeks(self) -> int:
        return self.week_of(self.length - 1) + 1

    def week_start(self, week: int) -> date:
        """The first day of the period in that week (the first week may start mid-week)."""
        monday = self.first - timedelta(days=self.first.weekday()) + timedelta(weeks=week)
        return max(monday, self.first)

    def week_end(self, week: int) -> date:
        sunday = self.first - timedelta(days=self.first.weekday()) + timedelta(weeks=week, days=6)
        return min(sunday, self.last)

    @property
    def key(self) -> str:
        return f"{self.first.isoformat()}:{self.last.isoformat()}:{self.zone}"


def _hours_24(start: datetime, end: datetime) -> bool:
    return (end - start).total_seconds() == DAY_SECONDS
