"""The figures of the insights page, as plain values (cached whole, drawn by charts.py)."""

from __future__ import annotations

from dataclasses import dataclass

from leads.insights.period import Period
from leads.insights.sql import Spread


@dataclass(frozen=True)
class Waiting:
    """A backlog bucket: waiting at least `min_hours` (None: from 0) and less than `max_hours`
    (None: no limit); the list's ?waiting_min= and ?waiting_max= say the same."""

    name: str
    label: str
    min_hours: int | None
    max_hours: int | None


BACKLOG = (
    Waiting("under_1h", "Under 1 hour", None, 1),
    Waiting("1_4h", "1–4 hours", 1, 4),
    Waiting("4_24h", "4–24 hours", 4, 24),
    Waiting("1_3d", "1–3 days", 24, 72),
    Waiting("older", "Older", 72, None),
)


@dataclass(frozen=True)
class Load:
    """One agent's workload: open leads assigned now, leads closed in the period (by the agent
    they have now) and the median time to close of those."""

    agent_id: str
    open: int
    closed: int
    median: float | None


@dataclass(frozen=True)
class Figures:
    period: Period
    # Per day of the period: leads and other chats that arrived.
    new_leads: tuple[int, ...]
    new_other: tuple[int, ...]
    # Leads (in the scope and filters) without an arrival date.
    undated: int
    # Leads per status now, whatever their arrival ("" for leads without a status).
    funnel: dict[str, int]
    # Per week of the period.
    first_action: tuple[Spread, ...]
    to_close: tuple[Spread, ...]
    workload: tuple[Load, ...]
    # Open leads per BACKLOG bucket, those without a waiting time, and the overdue.
    backlog: tuple[int, ...]
    backlog_unknown: int
    overdue: int
    # (name, count) of the most used tags among the leads that arrived in the period.
    tags: tuple[tuple[str, int], ...]
