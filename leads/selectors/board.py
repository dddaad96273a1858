"""The pipeline board's reads: one column per status, each a page of cards read in the order of
an index, the columns' counts in one cached query.

The board reads the list's query string (selectors.lists.matching under the same bot scope), so
a filter, a search, a queue or a saved view shows the same leads on either. A column lists its
leads newest in their status first (`waiting_since` descending, then id): a card moved there
comes first, and the Closed column's default (closed in the last CLOSED_DAYS days) is a range
of that same order. Leads with no `waiting_since` (no dates known) come where the database puts
NULLs in a descending order: first on PostgreSQL, last on SQLite.

Further cards are read by keyset (the last card's waiting_since and id), so a page deep in a
column costs what the first one does, and cards never repeat or go missing between pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from leads.botpenguin.records import STATUS_LABELS
from leads.models import Lead, LeadChange, Status
from leads.selectors import counting, lists, rollup_counts
from leads.selectors.bots import EVERY_BOT, Scope, chosen_bot
from leads.selectors.filters import LeadFilter
from leads.selectors.people import display_name

PAGE = 50
CLOSED_DAYS = 30
# The board's own parameters: every closed lead (`closed=all`), and a column's next page.
CLOSED_PARAM = "closed"
ALL_CLOSED = "all"
BOARD_PARAMS = (CLOSED_PARAM, "column", "after")
# What the board ignores of a list's query string besides its own parameters.
NOT_FILTERS = (*lists.CONTROL_PARAMS, *BOARD_PARAMS)
# What a card shows (read as named values, not whole leads).
CARD_FIELDS = (
    "id",
    "uuid",
    "bot_id",
    "name",
    "email",
    "status",
    "agent_id",
    "tags",
    "waiting_since",
    "version",
    "change_state",
)


@dataclass(frozen=True)
class Cursor:
    """Where a column's page ends: the last card's waiting_since (None: it has none) and id."""

    waiting_since: datetime | None
    id: int

    @property
    def token(self) -> str:
        """For a URL: "<microseconds since the epoch>.<id>", or "n.<id>" without a date."""
        if self.waiting_since is None:
            return f"n.{self.id}"
        delta = self.waiting_since - datetime(1970, 1, 1, tzinfo=UTC)
        return f"{delta // timedelta(microseconds=1)}.{self.id}"

    @classmethod
    def parse(cls, token: str) -> Cursor | None:
        """The cursor a token names, or None for anything else."""
        when, _, pk = (token or "").partition(".")
        if not pk.isdigit() or not (when == "n" or when.lstrip("-").isdigit()):
            return None
        if when == "n":
            return cls(None, int(pk))
        try:
            moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(when))
        except OverflowError:
            return None
        return cls(moment, int(pk))


@dataclass
class Column:
    status: str
    label: str
    count: int
    cards: list = field(default_factory=list)
    more: Cursor | None = None


@dataclass
class Board:
    """The board for one query: its columns (the statuses the query allows), whether Closed
    shows every closed lead, how many closed leads there are in all, and the filters' errors
    (a query the filters refuse shows no leads)."""

    columns: list[Column]
    closed_all: bool
    closed_total: int
    errors: dict = field(default_factory=dict)


def closed_since(now: datetime) -> datetime:
    return now - timedelta(days=CLOSED_DAYS)


def shows_all_closed(params: QueryDict) -> bool:
    return params.get(CLOSED_PARAM) == ALL_CLOSED


def statuses_shown(params: QueryDict) -> list[str]:
    """The columns of a query: every status, or those its status filter keeps (a queue such as
    "All open" has no Closed column)."""
    chosen = set(params.getlist("status")) & set(Status.values)
    left_out = set(params.getlist("status_not"))
    return [
        value
        for value in Status.values
        if (not chosen or value in chosen) and value not in left_out
    ]


def leads_of(params: QueryDict, *, scope: Scope = EVERY_BOT) -> tuple[QuerySet, dict]:
    """(every lead the query matches, the filters' errors): the list's own matching leads."""
    if not any(name in LeadFilter.base_filters for name in params):
        return lists.base_queryset(params, scope=scope), {}
    lead_filter = lists.filtered(params, scope=scope)
    if not lead_filter.is_valid():
        return Lead.objects.none(), dict(lead_filter.errors)
    return lead_filter.qs, {}


def in_column(leads: QuerySet, status: str, *, closed_all: bool, now: datetime) -> QuerySet:
    """The leads of one column: its status (and for Closed, by default, those closed lately)."""
    leads = leads.filter(status=status)
    if status == Status.CLOSED and not closed_all:
        leads = leads.filter(waiting_since__gte=closed_since(now))
    return leads


def _ordered(leads: QuerySet) -> QuerySet:
    return leads.order_by("-waiting_since", "-id").values_list(*CARD_FIELDS, named=True)


def _nulls_first() -> bool:
    """Where a descending order puts NULLs: first on PostgreSQL, last on SQLite."""
    return connection.vendor == "postgresql"


def cards(
    leads: QuerySet, *, after: Cursor | None = None, limit: int = PAGE
) -> tuple[list, Cursor | None]:
    """A column's next `limit` cards after `after` (from the top without one), and the cursor of
    the page after them (None: no more). One query from the top or within the dated cards; a
    page that runs from one part of the order (dated, undated) into the other reads both."""
    if after is None:
        parts = [_ordered(leads)]
    else:
        dated = Q(waiting_since__lt=after.waiting_since) | Q(
            waiting_since=after.waiting_since, id__lt=after.id
        )
        undated = leads.filter(waiting_since__isnull=True)
        if after.waiting_since is None:
            # Within the undated cards: those of lower id, then (PostgreSQL) every dated one.
            parts = [_ordered(undated.filter(id__lt=after.id))]
            if _nulls_first():
                parts.append(_ordered(leads.filter(waiting_since__isnull=False)))
        else:
            # `waiting_since <= x` first: a range of the index whichever way the rest goes.
            parts = [_ordered(leads.filter(Q(waiting_since__lte=after.waiting_since) & dated))]
            if not _nulls_first():
                parts.append(_ordered(undated))
    found: list = []
    for part in parts:
        found += list(part[: limit + 1 - len(found)])
        if len(found) > limit:
            break
    page = found[:limit]
    more = Cursor(page[-1].waiting_since, page[-1].id) if len(found) > limit else None
    return page, more


def counts(
    leads: QuerySet, params: QueryDict, *, scope: Scope = EVERY_BOT, now: datetime
) -> dict[str, int]:
    """Leads per status and those closed in the last CLOSED_DAYS days ("closed_recent"), in one
    query (for a query of whole bots, from the insights' rollup: a count of a million leads by
    status takes a fifth of a second), cached under the query and the mirror version as the
    list's counts are."""

    def compute() -> dict[str, int]:
        plain, bot_ids = bots_only(params, scope)
        by_status = rollup_counts.leads_per_status(bot_ids) if plain else None
        if by_status is not None:
            found = {value: by_status[value] for value in Status.values}
            recent = leads.filter(status=Status.CLOSED, waiting_since__gte=closed_since(now))
            found["closed_recent"] = recent.count()
            return found
        aggregates = {value: Count("id", filter=Q(status=value)) for value in Status.values}
        aggregates["closed_recent"] = Count(
            "id", filter=Q(status=Status.CLOSED, waiting_since__gte=closed_since(now))
        )
        return leads.order_by().aggregate(**aggregates)

    key = counting.params_key(params, without=NOT_FILTERS, scope=scope.key)
    return counting.cached("board-counts", key, compute)


def bots_only(params: QueryDict, scope: Scope) -> tuple[bool, tuple[int, ...] | None]:
    """(Whether the query counts whole bots' leads, filtered by nothing but a bot; those bots,
    None for every bot)."""
    used = {name for name in LeadFilter.base_filters if params.get(name)}
    if lists.is_non_lead(params) or used - {"bot"}:
        return False, None
    ids = scope.ids
    if "bot" in used:
        bot = chosen_bot(params["bot"])
        if bot is None:
            return False, None
        ids = (bot,) if ids is None or bot in ids else ()
    return True, ids


def board(params: QueryDict, *, scope: Scope = EVERY_BOT, now: datetime | None = None) -> Board:
    """The board of a list query: the columns it allows, each with its count and first page."""
    now = now or timezone.now()
    leads, errors = leads_of(params, scope=scope)
    closed_all = shows_all_closed(params)
    counted = counts(leads, params, scope=scope, now=now)
    columns = []
    for status in statuses_shown(params):
        count = counted[status]
        if status == Status.CLOSED and not closed_all:
            count = counted["closed_recent"]
        column = Column(status=status, label=Status(status).label, count=count)
        # Read even when the count says none: a count may be a few seconds old, cards never are.
        column.cards, column.more = cards(in_column(leads, status, closed_all=closed_all, now=now))
        columns.append(column)
    return Board(
        columns=columns,
        closed_all=closed_all,
        closed_total=counted[Status.CLOSED],
        errors=errors,
    )


def column_page(
    params: QueryDict, status: str, after: Cursor | None, *, scope: Scope = EVERY_BOT
) -> tuple[list, Cursor | None]:
    """The next page of one column (the board's "more" request)."""
    leads = lists.matching(params, scope=scope)
    column = in_column(leads, status, closed_all=shows_all_closed(params), now=timezone.now())
    return cards(column, after=after)


# What a change to these fields is called in a sentence (any other field: contact details).
FIELD_WORDS = {"agent_id": "assignee", "tags": "tags", "notes": "notes"}


def changed_since(lead: Lead, version: int) -> str:
    """Who changed `lead` since its `version` and what they did, as a sentence's middle ("Lena
    moved it to Review"): the latest edit made in BotPanel since then, or else BotPenguin (a
    sync brought the change)."""
    change = (
        LeadChange.objects.filter(lead_id=lead.pk, base_version__gte=version)
        .select_related("user")
        .order_by("-id")
        .first()
    )
    if change is None:
        return f"BotPenguin shows it as {lead.status_label} now"
    who = "BotPanel"
    if change.user is not None:
        user = change.user
        who = display_name(user.first_name, user.last_name, user.get_username())
    if "status" in change.after:
        return f"{who} moved it to {STATUS_LABELS.get(change.after['status'], '—')}"
    fields = sorted({FIELD_WORDS.get(name, "contact details") for name in change.after})
    return f"{who} changed its {' and '.join(fields)}"
