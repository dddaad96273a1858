"""The insights' daily rollup (leads.models.InsightsDay): what one bot's day holds, computed
from the leads and their status history (the rollup's upkeep, leads.rollup, stores it, and the
page computes the days not refreshed yet the same way), and the page's figures read from it.

The rollup counts days in the installation's TIME_ZONE and has no tag dimension besides the
tags figure: a person in another time zone, or a tag filter, gets the live figures
(selectors.insights) instead."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

import orjson
from django.conf import settings
from django.db.models import Count, Min, Q, QuerySet, Sum, TextField
from django.db.models.functions import Cast

from leads.insights.figures import BACKLOG, Figures
from leads.insights.histogram import rounded, spread_of
from leads.insights.period import Period
from leads.models import InsightsDay, Lead, LeadTag
from leads.models.insights import WAITING_COLUMNS
from leads.selectors import insights_queries as queries
from leads.selectors.overdue import rules
from leads.selectors.rollup_counts import EVERY_STATUS, built, refreshed, rollup_zone

# More days not refreshed yet than this among the bots': the page computes everything live.
MOST_LIVE_DAYS = 7


def day_rows(bot_id: int, day: date) -> list[InsightsDay]:
    """The rollup rows (one per agent) of one bot's day, unsaved, from the mirror as it is."""
    period = Period(first=day, last=day, zone=rollup_zone())
    in_day = {"gte": period.start, "lt": period.end}
    filters = queries.Filters(bot_ids=(bot_id,), every_bot=False)
    rows: dict[str, InsightsDay] = {}

    def row(agent: str | None) -> InsightsDay:
        if (agent or "") not in rows:
            rows[agent or ""] = InsightsDay(bot_id=bot_id, day=day, agent_id=agent or "")
        return rows[agent or ""]

    # `is_lead IN (…)`, `status IN (…)`: the (is_lead, …) indexes serve them.
    arrived = Lead.objects.filter(
        bot_id=bot_id,
        is_lead__in=[True, False],
        **{f"remote_created_at__{op}": moment for op, moment in in_day.items()},
    )
    for agent, is_lead, n in arrived.values_list("agent_id", "is_lead").annotate(n=Count("id")):
        if is_lead:
            row(agent).leads += n
        else:
            row(agent).other_chats += n
    tags = LeadTag.objects.filter(lead__in=arrived.filter(is_lead=True).values("pk"))
    for agent, key, n, name in tags.values_list("lead__agent_id", "key").annotate(
        n=Count("id"), name=Min("name")
    ):
        row(agent).tags.append([key, n, name])
    for field, changes in (
        ("first_actions", queries.first_actions(filters, period)),
        ("closings", queries.last_closings(filters, period)),
    ):
        durations: dict[str, Counter] = defaultdict(Counter)
        for agent, seconds in queries.timed(changes).values_list("lead__agent_id", "seconds"):
            durations[agent or ""][None if seconds is None else rounded(seconds)] += 1
        for agent, counts in durations.items():
            setattr(row(agent), field, [[seconds, n] for seconds, n in counts.items()])
    waiting = Lead.objects.filter(
        bot_id=bot_id,
        is_lead=True,
        status__in=EVERY_STATUS,
        **{f"waiting_since__{op}": moment for op, moment in in_day.items()},
    )
    for agent, status, n in waiting.values_list("agent_id", "status").annotate(n=Count("id")):
        setattr(row(agent), WAITING_COLUMNS[status], n)
    return list(rows.values())


# --- the page's figures from the rollup ---------------------------------------------------------


def figures(filters: queries.Filters, period: Period, now: datetime) -> Figures | None:
    """The page's figures from the rollup: its rows of the days it has refreshed, and the
    others computed now by day_rows; None when it cannot answer (a tag filter, another time
    zone, a rollup not built for TIME_ZONE yet, more than MOST_LIVE_DAYS days not refreshed)."""
    if filters.tag or filters.nobody or str(period.zone) != settings.TIME_ZONE or not built():
        return None
    stored, dirty = refreshed(filters.bot_ids)
    if len(dirty) > MOST_LIVE_DAYS:
        return None
    fresh = [row for bot_id, day in dirty for row in day_rows(bot_id, day)]
    if filters.agent is not None:
        stored = stored.filter(agent_id=filters.agent)
        fresh = [row for row in fresh if row.agent_id == filters.agent]
    sums = Sums(period, _horizon(now))
    sums.add_stored(stored)
    for row in fresh:
        sums.add_row(row)
    return sums.figures(filters, now)


LISTS = ("tags", "first_actions", "closings")


def _horizon(now: datetime) -> date:
    """The first day (in TIME_ZONE) whose waiting leads the backlog counts from the mirror:
    every lead waiting since before it is in the oldest bucket, and overdue where its status
    has a rule."""
    hours = max([BACKLOG[-1].min_hours, *(minutes / 60 for minutes in rules().values())])
    return (now - timedelta(hours=hours)).astimezone(rollup_zone()).date()


class Sums:
    """The rollup's rows added up for a period: per day, per week, per agent, per status."""

    def __init__(self, period: Period, horizon_day: date):
        self.period = period
        self.horizon_day = horizon_day
        self.leads = [0] * period.length
        self.other = [0] * period.length
        self.tags: Counter = Counter()
        self.names: dict[str, str] = {}
        self.first_actions: dict[int, Counter] = defaultdict(Counter)
        self.closings: dict[int, Counter] = defaultdict(Counter)
        self.closed_by: dict[str, Counter] = defaultdict(Counter)
        self.waiting: Counter = Counter()  # (status, agent): leads waiting in it, on any day
        self.before_horizon: Counter = Counter()  # status: leads waiting since before it

    def add_stored(self, stored: QuerySet[InsightsDay]) -> None:
        """The rows of the period, and the waiting counts of every day."""
        # The lists as text, decoded by orjson: JSONField decodes with the standard library's
        # json, several times slower over the thousands of rows of a long period.
        period = self.period
        rows = stored.filter(day__gte=period.first, day__lte=period.last).values_list(
            "day", "agent_id", "leads", "other_chats", *(Cast(name, TextField()) for name in LISTS)
        )
        for day, agent, leads, other, *lists in rows.order_by():
            self.add(day, agent, leads, other, *map(orjson.loads, lists))
        # The waiting counts, added up by the database per agent.
        before = Q(day__lt=self.horizon_day)
        waiting = {}
        for column in WAITING_COLUMNS.values():
            waiting[f"all_{column}"] = Sum(column)
            waiting[f"before_{column}"] = Sum(column, filter=before)
        for row in stored.values("agent_id").annotate(**waiting).order_by():
            for status, column in WAITING_COLUMNS.items():
                self.waiting[status, row["agent_id"]] += row[f"all_{column}"] or 0
                self.before_horizon[status] += row[f"before_{column}"] or 0

    def add_row(self, row: InsightsDay) -> None:
        """A row computed now (of a day not refreshed yet)."""
        if self.period.first <= row.day <= self.period.last:
            lists = (row.tags, row.first_actions, row.closings)
            self.add(row.day, row.agent_id, row.leads, row.other_chats, *lists)
        for status, column in WAITING_COLUMNS.items():
            self.waiting[status, row.agent_id] += getattr(row, column)
            if row.day < self.horizon_day:
                self.before_horizon[status] += getattr(row, column)

    def add(self, day, agent, leads, other, tags, first_actions, closings) -> None:
        index = (day - self.period.first).days
        self.leads[index] += leads
        self.other[index] += other
        for key, n, name in tags:
            self.tags[key] += n
            self.names[key] = min(self.names.get(key, name), name)
        week = self.period.week_of(index)
        counts = self.first_actions[week]
        for seconds, n in first_actions:
            if seconds is not None:
                counts[seconds] += n
        counts, mine = self.closings[week], self.closed_by[agent]
        for seconds, n in closings:
            mine[seconds] += n
            if seconds is not None:
                counts[seconds] += n

    def figures(self, filters: queries.Filters, now: datetime) -> Figures:
        funnel = dict.fromkeys(EVERY_STATUS, 0)
        open_by_agent: Counter = Counter()
        for (status, agent), n in self.waiting.items():
            funnel[status] += n
            if status != queries.CLOSED:
                open_by_agent[agent] += n
        # Leads without a waiting time are on no day of the rollup: counted from the mirror.
        unknown = 0
        timeless = queries.leads(filters).filter(status__in=EVERY_STATUS, waiting_since=None)
        for agent, status, n in timeless.values_list("agent_id", "status").annotate(n=Count("id")):
            funnel[status] += n
            if status != queries.CLOSED:
                open_by_agent[agent] += n
                unknown += n
        waiting, overdue = self.backlog(filters, now)
        closed = {agent: sum(counts.values()) for agent, counts in self.closed_by.items()}
        medians = {
            agent: spread_of({s: n for s, n in counts.items() if s is not None}).median
            for agent, counts in self.closed_by.items()
        }
        top = sorted(self.tags.items(), key=lambda item: (-item[1], item[0]))[: queries.TOP_TAGS]
        weeks = range(self.period.weeks)
        return Figures(
            period=self.period,
            new_leads=tuple(self.leads),
            new_other=tuple(self.other),
            undated=queries.undated(filters),
            funnel=funnel,
            first_action=tuple(spread_of(self.first_actions[w]) for w in weeks),
            to_close=tuple(spread_of(self.closings[w]) for w in weeks),
            workload=queries.workload(filters, dict(open_by_agent), closed, medians),
            backlog=waiting,
            backlog_unknown=unknown,
            overdue=overdue,
            tags=tuple((self.names[key], n) for key, n in top),
        )

    def backlog(self, filters: queries.Filters, now: datetime) -> tuple[tuple[int, ...], int]:
        """(Open leads per BACKLOG bucket, overdue): those waiting since the horizon's day
        counted from the mirror, exactly; the older ones from the rollup."""
        horizon = Period(first=self.horizon_day, last=self.horizon_day, zone=rollup_zone()).start
        waiting, _, overdue = queries.backlog(filters, now, since=horizon)
        ruled = rules()
        older = overdue_older = 0
        for status, n in self.before_horizon.items():
            if status != queries.CLOSED:
                older += n
                overdue_older += n if status in ruled else 0
        return (*waiting[:-1], waiting[-1] + older), overdue + overdue_older
