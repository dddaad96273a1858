"""The insights' reads: every figure aggregated by the database (GROUP BY, its own day and week
arithmetic, percentiles), a handful of queries per page, the whole cached per mirror version
and status history (selectors.counting). The definitions are in leads.insights."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from leads.insights import sql
from leads.insights.figures import BACKLOG, Figures, Load
from leads.insights.period import Period
from leads.models import Lead, LeadTag, Status, StatusChange
from leads.selectors import counting, lists, people
from leads.selectors.bots import EVERY_BOT, Scope, Visibility, chosen_bot
from leads.selectors.overdue import overdue_q, rules

CLOSED = Status.CLOSED.value
OPEN = Status.OPEN.value
START = StatusChange.Source.START.value
TOP_TAGS = 10


@dataclass(frozen=True)
class Filters:
    """Which leads the figures count: the bots in scope, an agent, a tag."""

    bot_ids: tuple[int, ...]
    every_bot: bool  # those are all of the installation's bots: no condition on leads
    agent: str | None = None  # None: anyone's; "": unassigned; else an agent id
    nobody: bool = False  # "me" for a person linked to no agent id: nothing matches
    tag: str = ""  # casefolded; "" for any
    single_bot: bool = False  # the installation has one bot: everyone works on it
    chosen_bot: int | None = None  # the bot chosen on the page (else all the person sees)

    @property
    def scope(self) -> Scope:
        return EVERY_BOT if self.every_bot else Scope(self.bot_ids)

    @property
    def key(self) -> str:
        return f"{self.scope.key}|{self.chosen_bot}|{self.agent!r}|{self.nobody}|{self.tag}"


def filters_for(
    *, seen: Visibility, user, bot: str = "", agent: str = "", tag: str = ""
) -> Filters:
    """The figures' filters from the page's choices: `bot` one of the person's bots (else all
    they see), `agent` "me", "none" or an agent id, `tag` a tag's name."""
    chosen = chosen_bot(bot)
    if seen.sees(chosen):
        ids, every = (chosen,), False
    else:
        ids, every = seen.ids, seen.every_bot
    agent = agent.strip()
    nobody = False
    if agent == people.ME:
        person = people.person_of(user)
        agent, nobody = (person.agent_id, False) if person else (None, True)
    elif agent == people.NOBODY:
        agent = ""
    elif not agent:
        agent = None
    return Filters(
        chosen_bot=chosen if seen.sees(chosen) else None,
        bot_ids=ids,
        every_bot=every,
        agent=agent,
        nobody=nobody,
        tag=tag.strip().casefold(),
        single_bot=seen.installation_bots == 1,
    )


def leads(filters: Filters, *, kinds: tuple[bool, ...] = (True,)) -> QuerySet[Lead]:
    """The leads (and with kinds=(True, False) the other chats too) the filters count."""
    if filters.nobody:
        return Lead.objects.none()
    # `is_lead IN (…)`: the (is_lead, …) indexes serve it on SQLite too (see lists.base_queryset).
    found = filters.scope.apply(Lead.objects.filter(is_lead__in=list(kinds)))
    if filters.agent is not None:
        found = found.filter(agent_id=filters.agent)
    if filters.tag:
        found = found.filter(
            Exists(LeadTag.objects.filter(lead_id=OuterRef("pk"), key=filters.tag))
        )
    return found.order_by()


def changes(filters: Filters) -> QuerySet[StatusChange]:
    """The status history of the leads the filters count; by bot first, as its indexes are."""
    if filters.nobody or not filters.bot_ids:
        return StatusChange.objects.none()
    found = StatusChange.objects.filter(bot_id__in=filters.bot_ids, lead__is_lead__in=[True])
    if filters.agent is not None:
        found = found.filter(lead__agent_id=filters.agent)
    if filters.tag:
        found = found.filter(
            Exists(LeadTag.objects.filter(lead_id=OuterRef("lead_id"), key=filters.tag))
        )
    return found.order_by()


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


def undated(filters: Filters) -> int:
    """Leads without an arrival date."""
    return leads(filters).filter(remote_created_at__isnull=True).count()


def first_actions(filters: Filters, period: Period) -> QuerySet[StatusChange]:
    """Each lead's first recorded status change, when it moved the lead away from Open and
    happened in the period."""
    earlier = StatusChange.objects.filter(lead_id=OuterRef("lead_id")).exclude(source=START)
    earlier = earlier.filter(Q(at__lt=OuterRef("at")) | Q(at=OuterRef("at"), id__lt=OuterRef("id")))
    return (
        changes(filters)
        .filter(from_status=OPEN, at__gte=period.start, at__lt=period.end)
        .exclude(source=START)
        .filter(~Exists(earlier))
    )


def last_closings(filters: Filters, period: Period) -> QuerySet[StatusChange]:
    """For the leads Closed now, the last time each entered Closed, when that was in the
    period."""
    later = StatusChange.objects.filter(lead_id=OuterRef("lead_id"), to_status=CLOSED)
    later = later.exclude(source=START).filter(
        Q(at__gt=OuterRef("at")) | Q(at=OuterRef("at"), id__gt=OuterRef("id"))
    )
    return (
        changes(filters)
        .filter(to_status=CLOSED, at__gte=period.start, at__lt=period.end, lead__status=CLOSED)
        .exclude(source=START)
        .filter(~Exists(later))
    )


def timed(changes_: QuerySet[StatusChange]) -> QuerySet[StatusChange]:
    """The changes with `seconds` since their lead arrived (None without an arrival date)."""
    return changes_.annotate(seconds=sql.seconds_between("lead__remote_created_at", "at"))


def per_week(changes_: QuerySet[StatusChange], period: Period) -> tuple[sql.Spread, ...]:
    found = sql.spreads(timed(changes_).annotate(bucket=sql.week("at", period)))
    return tuple(found.get(week, sql.NONE) for week in range(period.weeks))


def workload(filters: Filters, period: Period, open_by_agent: dict[str, int]) -> tuple[Load, ...]:
    """Per agent (the people of the bots in scope, any other agent id with leads, and nobody):
    open leads now, leads closed in the period and their median time to close."""
    closings = last_closings(filters, period)
    closed = dict(closings.values_list("lead__agent_id").annotate(n=Count("id")))
    spreads = sql.spreads(timed(closings).annotate(bucket=F("lead__agent_id")))
    agents = [
        p.agent_id for p in people.people_of_bots(filters.bot_ids, single_bot=filters.single_bot)
    ]
    agents += sorted((set(open_by_agent) | set(closed)) - set(agents) - {""})
    agents.append("")
    if filters.agent is not None:
        agents = [filters.agent]
    return tuple(
        Load(
            agent_id=agent,
            open=open_by_agent.get(agent, 0),
            closed=closed.get(agent, 0),
            median=spreads[agent].median if agent in spreads else None,
        )
        for agent in agents
    )


def backlog(filters: Filters, now: datetime) -> tuple[tuple[int, ...], int, int]:
    """(open leads per BACKLOG bucket, open leads without a waiting time, overdue), in one
    query on the (is_lead, status, waiting_since) index."""
    buckets = {}
    for bucket in BACKLOG:
        condition = Q()
        if bucket.min_hours is not None:
            condition &= Q(waiting_since__lte=now - timedelta(hours=bucket.min_hours))
        if bucket.max_hours is not None:
            condition &= Q(waiting_since__gt=now - timedelta(hours=bucket.max_hours))
        buckets[bucket.name] = Count("id", filter=condition)
    overdue = Count("id", filter=overdue_q(now)) if rules() else None
    found = (
        leads(filters)
        .exclude(status=CLOSED)
        .aggregate(
            unknown=Count("id", filter=Q(waiting_since__isnull=True)),
            **buckets,
            **({"overdue": overdue} if overdue is not None else {}),
        )
    )
    return (
        tuple(found[bucket.name] for bucket in BACKLOG),
        found["unknown"],
        found.get("overdue", 0),
    )


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


def compute(filters: Filters, period: Period, now: datetime) -> Figures:
    new_leads, new_other = arrivals(filters, period)
    waiting, unknown, overdue = backlog(filters, now)
    return Figures(
        period=period,
        new_leads=new_leads,
        new_other=new_other,
        undated=undated(filters),
        funnel=funnel(filters),
        first_action=per_week(first_actions(filters, period), period),
        to_close=per_week(last_closings(filters, period), period),
        workload=workload(filters, period, open_by_agent(filters)),
        backlog=waiting,
        backlog_unknown=unknown,
        overdue=overdue,
        tags=top_tags(filters, period),
    )


def figures(filters: Filters, period: Period, now: datetime | None = None) -> Figures:
    """The page's figures, cached per mirror version and the newest status change (the
    delivery of an edit writes history without a new mirror version)."""
    now = now or timezone.now()
    newest = StatusChange.objects.aggregate(n=Max("id"))["n"] or 0
    key = f"{filters.key}|{period.key}|{newest}"
    return counting.cached("insights", key, lambda: compute(filters, period, now))
