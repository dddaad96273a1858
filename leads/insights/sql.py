"""SQL the insights share, the same answers on SQLite and PostgreSQL, computed by the database:
a moment's local day within a period (no per-row Python function: Django's TruncDate runs one
on SQLite), whole seconds between two moments, and percentiles by group."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    Aggregate,
    BigIntegerField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Greatest

from leads.insights.period import DAY_SECONDS, Period

# The percentiles every duration figure shows: the median and the 90th.
FRACTIONS = (0.5, 0.9)


class Epoch(Func):
    """Whole seconds since 1970 of a moment (fractions dropped)."""

    arity = 1
    output_field = BigIntegerField()
    template = "FLOOR(EXTRACT(EPOCH FROM %(expressions)s))::bigint"

    def as_sqlite(self, compiler, conn, **extra):
        # strftime rather than unixepoch(), which SQLite has only since 3.38; its format is a
        # parameter, as a literal "%s" in the SQL would read as a placeholder.
        (moment,) = self.get_source_expressions()
        sql, params = compiler.compile(moment)
        return f"CAST(strftime(%s, {sql}) AS INTEGER)", ("%s", *params)


def local_day(field: str, period: Period) -> Case:
    """The index in `period` (0 = its first day) of the day `field` falls on in the period's
    time zone, for rows already limited to the period. Runs of 24-hour days are a division of
    the seconds since the run began; a day of a clock change is a run of its own."""
    whens = []
    for segment in reversed(period.segments()):
        index = Value(segment.first)
        if segment.uniform:
            since = Epoch(F(field)) - Value(int(segment.start.timestamp()))
            index = index + since / Value(DAY_SECONDS)
        then = ExpressionWrapper(index, output_field=IntegerField())
        whens.append(When(**{f"{field}__gte": segment.start}, then=then))
    return Case(*whens, default=Value(0), output_field=IntegerField())


def week(field: str, period: Period) -> ExpressionWrapper:
    """The week of `period` (0 = its first, Monday to Sunday) `field` falls in."""
    shifted = local_day(field, period) + Value(period.first.weekday())
    return ExpressionWrapper(shifted / Value(7), output_field=IntegerField())


def seconds_between(start: str, end: str) -> Case:
    """Whole seconds from `start` to `end` (None without a start); a moment dated before its
    start counts as 0. (PostgreSQL's GREATEST skips a NULL, SQLite's MAX returns it.)"""
    since = Greatest(Epoch(F(end)) - Epoch(F(start)), Value(0), output_field=BigIntegerField())
    return Case(
        When(**{f"{start}__isnull": True}, then=Value(None)),
        default=since,
        output_field=BigIntegerField(),
    )


class PercentileCont(Aggregate):
    """PostgreSQL's continuous percentile (linear interpolation between the two nearest)."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


@dataclass(frozen=True)
class Spread:
    """How many durations, their median and 90th percentile (seconds; None without any)."""

    count: int
    median: float | None
    p90: float | None


NONE = Spread(0, None, None)

# SQLite has no percentile function: the rows at the two ranks around each fraction's position
# (p × (n − 1), counted from 0), numbered by a window function, are read and interpolated in
# Python, exactly as PostgreSQL's percentile_cont does. {inner}: the grouped durations' query.
WINDOWED = """
SELECT bucket, n, rn, seconds FROM (
    SELECT bucket, seconds,
           ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY seconds) - 1 AS rn,
           COUNT(*) OVER (PARTITION BY bucket) AS n
    FROM ({inner}) AS durations
) AS ranked
WHERE {ranks}
"""
RANK = "rn = CAST({p} * (n - 1) AS INTEGER) OR rn = CAST({p} * (n - 1) AS INTEGER) + 1"


def spreads(durations: QuerySet) -> dict:
    """{bucket: Spread} of a queryset annotated with `bucket` and `seconds` (None: not counted),
    in one query on either database."""
    durations = durations.filter(seconds__isnull=False).order_by()
    if connection.vendor == "postgresql":
        rows = durations.values("bucket").annotate(
            n=Count("seconds"),
            **{f"p{i}": PercentileCont("seconds", p) for i, p in enumerate(FRACTIONS)},
        )
        return {
            row["bucket"]: Spread(row["n"], *(row[f"p{i}"] for i in range(len(FRACTIONS))))
            for row in rows
        }
    inner, params = durations.values_list("bucket", "seconds").query.sql_with_params()
    ranks = " OR ".join(RANK.format(p=repr(p)) for p in FRACTIONS)
    with connection.cursor() as cursor:
        # S608: the inner query is Django's own, with its parameters; the fractions constants.
        cursor.execute(WINDOWED.format(inner=inner, ranks=ranks), params)  # noqa: S608
        return interpolate(cursor.fetchall())


def interpolate(rows: Iterable[tuple]) -> dict:
    """Spreads from (bucket, n, rank, seconds) rows holding at least the ranks percentile_cont
    reads: floor(p × (n − 1)) and the one after it."""
    counts: dict = {}
    ranked: dict = {}
    for bucket, n, rank, value in rows:
        counts[bucket] = n
        ranked.setdefault(bucket, {})[rank] = value
    found = {}
    for bucket, n in counts.items():
        values = []
        for p in FRACTIONS:
            position = p * (n - 1)
            low = int(position)
            value = float(ranked[bucket][low])
            if position > low:
                value += (ranked[bucket][low + 1] - value) * (position - low)
            values.append(value)
        found[bucket] = Spread(n, *values)
    return found
