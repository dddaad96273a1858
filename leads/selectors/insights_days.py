"""The insights' daily rollup (leads.models.InsightsDay): what one bot's day holds, computed
from the leads and their status history (the rollup's upkeep, leads.rollup, stores it, and the
page computes the days not refreshed yet the same way), and the page's figures read from it.

The rollup counts days in the installation's TIME_ZONE and has no tag dimension besides the
tags figure: a person in another time zone, or a tag filter, gets the live figures
(selectors.insights) instead."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Min

from leads.insights.figures import Figures
from leads.insights.histogram import rounded, spread_of
from leads.insights.period import Period
from leads.models import InsightsDay, InsightsDirtyDay, InsightsRollupState, Lead, LeadTag, Status
from leads.selectors import insights_queries as queries
from leads.selectors.overdue import rules

# More days not refreshed yet than this among the bots': the page computes everything live.
MOST_LIVE_DAYS = 7
UNTIMED = ""  # the duration key of a lead without an arrival date (counted, in no percentile)
EVERY_STATUS = [*Status.values, ""]


def rollup_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


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
        row(agent).tags[key] = [n, name]
    for field, changes in (
        ("first_actions", queries.first_actions(filters, period)),
        ("closings", queries.last_closings(filters, period)),
    ):
        for agent, seconds in queries.timed(changes).values_list("lead__agent_id", "seconds"):
            counts = getattr(row(agent), field)
            key = UNTIMED if seconds is None else str(rounded(seconds))
            counts[key] = counts.get(key, 0) + 1
    waiting = Lead.objects.filter(
        bot_id=bot_id,
        is_lead=True,
        status__in=EVERY_STATUS,
        **{f"waiting_since__{op}": moment for op, moment in in_day.items()},
    )
    for agent, status, n in waiting.values_list("agent_id", "status").annotate(n=Count("id")):
        row(agent).waiting[status] = n
    return list(rows.values())


# --- the page's figures from the rollup ---------------------------------------------------------

COLUMNS = ("day", "agent_id", "leads", "other_chats", "tags", "first_actions", "closings")


def figures(filters: queries.Filters, period: Period, now: datetime) -> Figures | None:
    """The page's figures from the rollup: its rows of the days it has refreshed, and the
    others computed now by day_rows; None when it cannot answer (a tag filter, another time
    zone, a rollup not built for TIME_ZONE yet, more than MOST_LIVE_DAYS days not refreshed)."""
    if filters.tag or filters.nobody or str(period.zone) != settings.TIME_ZONE:
        return None
    state = InsightsRollupState.objects.first()
    if state is None or state.zone != settings.TIME_ZONE:
        return None
    dirty = list(
        InsightsDirtyDay.objects.filter(bot_id__in=filters.bot_ids).values_list("bot_id", "day")
    )
    if len(dirty) > MOST_LIVE_DAYS:
        return None
    stored = InsightsDay.objects.filter(bot_id__in=filters.bot_ids)
    for bot_id, day in dirty:
        stored = stored.exclude(bot_id=bot_id, day=day)
    fresh = [row for bot_id, day in dirty for row in day_rows(bot_id, day)]
    if filters.agent is not None:
        stored = stored.filter(agent_id=filters.agent)
        fresh = [row for row in fresh if row.agent_id == filters.agent]
    within = {"day__gte": period.first, "day__lte": period.last}
    sums = Sums(period)
    for values in stored.filter(**within).values_list(*COLUMNS, "waiting").order_by():
        sums.add(*values)
    for day, agent, waiting in stored.exclude(**within).values_list("day", "agent_id", "waiting"):
        sums.add_waiting(day, agent, waiting)
    for row in fresh:
        if period.first <= row.day <= period.last:
            sums.add(*(getattr(row, name) for name in COLUMNS), row.waiting)
        else:
            sums.add_waiting(row.day, row.agent_id, row.waiting)
    return sums.figures(filters, now)


class Sums:
    """The rollup's rows added up for a period: per day, per week, per agent, per status."""

    def __init__(self, period: Period):
        self.period = period
        self.leads = [0] * period.length
        self.other = [0] * period.length
        self.tags: Counter = Counter()
        self.names: dict[str, str] = {}
        self.first_actions: dict[int, Counter] = defaultdict(Counter)
        self.closings: dict[int, Counter] = defaultdict(Counter)
        self.closed_by: dict[str, Counter] = defaultdict(Counter)
        self.waiting: Counter = Counter()  # (status, agent)
        self.waiting_before: Counter = Counter()  # (status, day): for the backlog
        self.days_waiting: dict[date, Counter] = defaultdict(Counter)

    def add(self, day, agent, leads, other, tags, first_actions, closings, waiting) -> None:
        index = (day - self.period.first).days
        week = self.period.week_of(index)
        self.leads[index] += leads
        self.other[index] += other
        for key, (n, name) in tags.items():
            self.tags[key] += n
            self.names[key] = min(self.names.get(key, name), name)
        for key, n in first_actions.items():
            if key != UNTIMED:
                self.first_actions[week][int(key)] += n
        for key, n in closings.items():
            self.closed_by[agent][key] += n
            if key != UNTIMED:
                self.closings[week][int(key)] += n
        self.add_waiting(day, agent, waiting)

    def add_waiting(self, day: date, agent: str, waiting: dict[str, int]) -> None:
        for status, n in waiting.items():
            self.waiting[status, agent] += n
            self.days_waiting[day][status] += n

    def figures(self, filters: queries.Filters, now: datetime) -> Figures:
        funnel = {status: 0 for status in EVERY_STATUS}
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
            agent: spread_of({int(k): n for k, n in counts.items() if k != UNTIMED}).median
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
        """(The open leads by waiting time, overdue): those waiting since the horizon's day (longer than
        the oldest bucket's start and every overdue rule) counted from the mirror, exactly;
        the older ones, all in the oldest bucket and overdue where their status has a rule,
        from the rollup."""
        ruled = rules()
        hours = max([72, *(minutes / 60 for minutes in ruled.values())])
        zone = rollup_zone()
        horizon_day = (now - timedelta(hours=hours)).astimezone(zone).date()
        horizon = datetime.combine(horizon_day, time.min, tzinfo=zone).astimezone(UTC)
        waiting, _, overdue = queries.backlog(filters, now, since=horizon)
        older = overdue_older = 0
        for day, counts in self.days_waiting.items():
            if day < horizon_day:
                for status, n in counts.items():
                    if status != queries.CLOSED:
                        older += n
                        overdue_older += n if status in ruled else 0
        return (*waiting[:-1], waiting[-1] + older), overdue + overdue_older
