"""The insights' filters and the querysets every figure is built on (the leads counted, their
status history, first actions and last closings), shared by the live figures
(selectors.insights) and the daily rollup (selectors.insights_days)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from leads.insights import sql
from leads.insights.figures import BACKLOG, Load
from leads.insights.period import Period
from leads.models import Lead, LeadTag, Status, StatusChange
from leads.selectors import people
from leads.selectors.bots import EVERY_BOT, Scope, Visibility, chosen_bot
from leads.selectors.overdue import overdue_q, rules

CLOSED = Status.CLOSED.value
OPEN = Status.OPEN.value
START = StatusChange.Source.START.value
TOP_TAGS = 10
# Every status a lead can have but Closed ("" for none: the sync keeps no other value).
NOT_CLOSED = [status for status in Status.values if status != CLOSED] + [""]


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


def workload(
    filters: Filters,
    open_by_agent: dict[str, int],
    closed: dict[str, int],
    close_median: dict[str, float | None],
) -> tuple[Load, ...]:
    """Per agent (the people of the bots in scope, any other agent id with leads, and nobody):
    open leads now, leads closed in the period and their median time to close."""
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
            median=close_median.get(agent),
        )
        for agent in agents
    )


def backlog(
    filters: Filters, now: datetime, *, since: datetime | None = None
) -> tuple[tuple[int, ...], int, int]:
    """(open leads per BACKLOG bucket, open leads without a waiting time, overdue), in one
    query on the (is_lead, status, waiting_since) index; with `since`, of the leads waiting
    since then only (none without a waiting time)."""
    buckets = {}
    for bucket in BACKLOG:
        condition = Q()
        if bucket.min_hours is not None:
            condition &= Q(waiting_since__lte=now - timedelta(hours=bucket.min_hours))
        if bucket.max_hours is not None:
            condition &= Q(waiting_since__gt=now - timedelta(hours=bucket.max_hours))
        buckets[bucket.name] = Count("id", filter=condition)
    overdue = Count("id", filter=overdue_q(now)) if rules() else None
    # Each status not Closed by name: ranges of the index rather than a scan of all its leads.
    waiting = leads(filters).filter(status__in=NOT_CLOSED)
    if since is not None:
        waiting = waiting.filter(waiting_since__gte=since)
    found = waiting.aggregate(
        unknown=Count("id", filter=Q(waiting_since__isnull=True)),
        **buckets,
        **({"overdue": overdue} if overdue is not None else {}),
    )
    return (
        tuple(found[bucket.name] for bucket in BACKLOG),
        found["unknown"],
        found.get("overdue", 0),
    )


def undated(filters: Filters) -> int:
    """Leads without an arrival date."""
    return leads(filters).filter(remote_created_at__isnull=True).count()
