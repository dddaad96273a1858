"""Durations as the daily rollup keeps them: rounded to two significant figures (within 5 %),
so that a day holds a few hundred distinct values rather than one per lead, and percentiles
read from such counts exactly as PostgreSQL's percentile_cont reads the rounded values."""

from __future__ import annotations

from collections.abc import Mapping

from leads.insights.sql import FRACTIONS, NONE, Spread


def rounded(seconds: int) -> int:
    """`seconds` to two significant figures, halves up: 86 → 86, 3,456 → 3,500."""
    if seconds < 100:
        return seconds
    step = 10 ** (len(str(seconds)) - 2)
    return (seconds + step // 2) // step * step


def spread_of(counts: Mapping[int, int]) -> Spread:
    """The count, median and 90th percentile of the durations {seconds: how many}, with
    percentile_cont's interpolation between the two values around p × (n − 1)."""
    n = sum(counts.values())
    if not n:
        return NONE
    values = sorted(counts.items())
    found = []
    for p in FRACTIONS:
        position = p * (n - 1)
        low = int(position)
        value = float(_at(values, low))
        if position > low:
            value += (_at(values, low + 1) - value) * (position - low)
        found.append(value)
    return Spread(n, *found)


def _at(values: list[tuple[int, int]], rank: int) -> int:
    """The value at `rank` (from 0) of the sorted (value, count) pairs."""
    seen = 0
    for value, count in values:
        seen += count
        if rank < seen:
            return value
    raise IndexError(rank)
