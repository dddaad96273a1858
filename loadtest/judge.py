"""How a load test run is judged: its fault windows, which 5xx answers they forgive, the
percentiles outside them, and which edits count as lost. Pure functions of what the agents
recorded, so that tests/test_loadtest_judge.py can check them without a run."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# Requests answered 5xx are allowed only while BotPanel's connections are being ended and in the
# second that follows: a query in flight at that moment fails, whatever the code does.
TERMINATION_GRACE_SECONDS = 1.0
TERMINATION = "connections ended"


class Timed(Protocol):
    at: float  # seconds since the measured window began, when the request was sent
    ms: float  # how long the answer took
    status: int  # HTTP status, 0 when there was no answer


@dataclass(frozen=True)
class Window:
    """One fault: from the moment it was injected until the system was whole again."""

    name: str
    start: float  # seconds since the measured window began
    end: float
    note: str = ""

    def allowed_5xx(self) -> tuple[float, float] | None:
        """The span in which a 5xx answer is forgiven, or None for a fault that allows none."""
        if self.name != TERMINATION:
            return None
        return self.start, max(self.end, self.start + TERMINATION_GRACE_SECONDS)


def span(hit: Timed) -> tuple[float, float]:
    """From sending the request to receiving its answer, in seconds since the window began."""
    return hit.at, hit.at + hit.ms / 1000


def overlaps(hit: Timed, start: float, end: float) -> bool:
    """Whether the request was open at any moment of [start, end]."""
    sent, answered = span(hit)
    return sent <= end and answered >= start


def outside(hits: Iterable[Timed], windows: Sequence[Window]) -> list[Timed]:
    """The requests that were open during no fault window."""
    return [h for h in hits if not any(overlaps(h, w.start, w.end) for w in windows)]


def inside(hits: Iterable[Timed], windows: Sequence[Window]) -> list[Timed]:
    """The requests that were open during at least one fault window."""
    return [h for h in hits if any(overlaps(h, w.start, w.end) for w in windows)]


def unforgiven_5xx(hits: Iterable[Timed], windows: Sequence[Window]) -> list[Timed]:
    """5xx answers to requests that were not open during a connection-termination second."""
    spans = [s for w in windows if (s := w.allowed_5xx()) is not None]
    return [h for h in hits if h.status >= 500 and not any(overlaps(h, a, b) for a, b in spans)]


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (inclusive method), 0 for no values."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def timeline(windows: Sequence[Window]) -> list[str]:
    """One line per fault, in the order they happened."""
    return [
        f"{w.start:6.1f}–{w.end:6.1f} s  {w.name}" + (f": {w.note}" if w.note else "")
        for w in sorted(windows, key=lambda w: w.start)
    ]


ACCEPTED = ("accepted", "pending")  # the edit was saved (and sent, or queued to be)
UNANSWERED = "error"  # a 5xx or no answer: the edit may have been saved and sent all the same


def expected_statuses(edits: Iterable[Any]) -> dict[str, tuple[Any, set[str]]]:
    """For each lead with an accepted status edit: that lead's last accepted edit, and the
    statuses BotPenguin may hold in the end: that edit's, or the one of a later edit whose answer
    was lost. Edits have uuid, status, outcome, sent_at and answered_at; one lead's edits come
    from one agent, one after the other."""
    by_lead: dict[str, list] = defaultdict(list)
    for edit in edits:
        by_lead[edit.uuid].append(edit)
    expected = {}
    for uuid, mine in by_lead.items():
        accepted = [e for e in mine if e.outcome in ACCEPTED]
        if not accepted:
            continue
        last = max(accepted, key=lambda e: e.answered_at)
        later = {
            e.status for e in mine if e.outcome == UNANSWERED and e.sent_at >= last.answered_at
        }
        expected[uuid] = (last, {last.status} | later)
    return expected


def lost_edits(
    expected: dict[str, tuple[Any, set[str]]], remote: dict[str, str]
) -> list[tuple[str, str, str]]:
    """(uuid, status of the last accepted edit, status BotPenguin holds) for every lead whose
    status in BotPenguin is none of those expected."""
    return [
        (uuid, last.status, remote.get(uuid, "?"))
        for uuid, (last, allowed) in expected.items()
        if remote.get(uuid) not in allowed
    ]
