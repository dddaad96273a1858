"""The insights' reads: every figure aggregated by the database (GROUP BY, its own day and week
arithmetic, percentiles), or read from the daily rollup where it can answer (arrivals, times,
closings, tags: selectors.insights_days), a handful of queries per page, the whole cached per
mirror version and status history (selectors.counting). The definitions are in leads.insights."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, F, Max, Min, QuerySet
from django.http import QueryDict
from django.utils import timezone

from leads.insights import sql
from leads.insights.figures import Figures
from leads.insights.period import Period
from leads.models import LeadTag, Status, StatusChange
from leads.selectors import counting, insights_days, lists, people
from leads.selectors.bots import EVERY_BOT, Scope
from leads.selectors.insights_queries import (
    CLOSED,
    TOP_TAGS,
    Filters,
    backlog,
    filters_for,
    first_actions,
    last_closings,
    leads,
    timed,
    undated,
    workload,
)

__all__ = ["Filters", "figures", "filters_for", "list_query"]

# --- the figures -------------------------------------------------------------------------------


def arrivals(filters: Filters, period: Period) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(leads, other chats) that arrived on each day of the period, in one query."""
    rows = (
        leads(filters, kinds=(True, False))
        .filter(remote_created_at__gte=period.start, remote_created_at__lt=period.end)
        .annotate(day=sql.local_day("remote_created_at", period))
        .values_list("is_lead", "day")
        .annotate(n=Count("id"))
    )
    found = {True: [0] * period.length, False: [0] * period.length}
    for is_lead, day, n in rows:
        found[bool(is_lead)][day] += n
    return tuple(found[True]), tuple(found[False])


def list_query(filters: Filters) -> tuple[QueryDict, Scope]:
    """The list's parameters and scope for the leads the filters count: the list's own counts
    of them are the same figures, cached under the same key."""
    params = QueryDict(mutable=True)
    scope = filters.scope
    if filters.chosen_bot is not None:
        params["bot"], scope = str(filters.chosen_bot), EVERY_BOT
    if filters.nobody:
        params["agent"] = people.ME  # still "me": the list matches nothing
    elif filters.agent is not None:
        params["agent"] = filters.agent or people.NOBODY
    if filters.tag:
        params["tag"] = filters.tag
    return params, scope


def funnel(filters: Filters) -> dict[str, int]:
    """{status: leads now} ("" for leads without a status), whatever their arrival: the list's
    own status counts (cached, shared with the list's status tabs)."""
    params, scope = list_query(filters)
    counts = lists.status_counts(params, scope=scope)
    found = {status: counts.get(status, 0) for status in Status.values}
    found[""] = counts.get("all", 0) - sum(found.values())
    return found


def open_by_agent(filters: Filters) -> dict[str, int]:
    """{agent id: leads not Closed}: every lead per agent less the closed ones, two queries the
    (is_lead, agent_id) and (is_lead, status) indexes serve, rather than a lookup of every
    lead's status."""
    every = dict(leads(filters).values_list("agent_id").annotate(n=Count("id")))
    closed = leads(filters).filter(status=CLOSED).values_list("agent_id").annotate(n=Count("id"))
    for agent_id, n in closed:
        every[agent_id] -= n
    return every


def per_week(changes_: QuerySet[StatusChange], period: Period) -> tuple[sql.Spread, ...]:
    found = sql.spreads(timed(changes_).annotate(bucket=sql.week("at", period)))
    return tuple(found.get(week, sql.NONE) for week in range(period.weeks))


def top_tags(filters: Filters, period: Period) -> tuple[tuple[str, int], ...]:
    """The most used tags among the leads that arrived in the period (most used first)."""
    arrived = leads(filters).filter(
        remote_created_at__gte=period.start, remote_created_at__lt=period.end
    )
    rows = (
        LeadTag.objects.filter(lead__in=arrived.values("pk"))
        .values("key")
        .annotate(n=Count("id"), name=Min("name"))
        .order_by("-n", "key")[:TOP_TAGS]
    )
    return tuple((row["name"], row["n"]) for row in rows)


def live(filters: Filters, period: Period, now: datetime) -> Figures:
    """Every figure computed from the leads and their history."""
    closings = last_closings(filters, period)
    closed = dict(closings.values_list("lead__agent_id").annotate(n=Count("id")))
    spreads = sql.spreads(timed(closings).annotate(bucket=F("lead__agent_id")))
    medians = {agent: spread.median for agent, spread in spreads.items()}
    waiting, unknown, overdue = backlog(filters, now)
    new_leads, new_other = arrivals(filters, period)
    return Figures(
        period=period,
        new_leads=new_leads,
        new_other=new_other,
        undated=undated(filters),
        funnel=funnel(filters),
        first_action=per_week(first_actions(filters, period), period),
        to_close=per_week(closings, period),
        workload=workload(filters, open_by_agent(filters), closed, medians),
        backlog=waiting,
        backlog_unknown=unknown,
        overdue=overdue,
        tags=top_tags(filters, period),
    )


def compute(filters: Filters, period: Period, now: datetime) -> Figures:
    """From the daily rollup where it can answer, else live."""
    return insights_days.figures(filters, period, now) or live(filters, period, now)


def figures(filters: Filters, period: Period, now: datetime | None = None) -> Figures:
    """The page's figures, cached per mirror version and the newest status change (the
    delivery of an edit writes history without a new mirror version)."""
    now = now or timezone.now()
    newest = StatusChange.objects.aggregate(n=Max("id"))["n"] or 0
    key = f"{filters.key}|{period.key}|{newest}"
    return counting.cached("insights", key, lambda: compute(filters, period, now))
