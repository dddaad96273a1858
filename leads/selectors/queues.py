"""The workspace's reads: the built-in queues, the saved views a person sees, their counts, the
leads that arrived since a list was drawn, and which leads of a page are new for a person.

A queue or a view is a list query string. Its count is cached like the list's own (selectors.
counting: under the mirror version and the bot scope, "me" made the person's agent id first), so
it is computed at most once per change of the mirror, and counted up to COUNT_CAP only: a count
the list itself has cached (the paginator's, same key) is shown exact instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from leads.models import Lead, LeadSeen, SavedView
from leads.selectors import counting, lists, people
from leads.selectors.bots import Visibility, list_scope
from leads.selectors.overdue import is_overdue, rules

# A queue's or view's count stops here ("1,000+"): a panel of counts stays cheap however large
# the mirror is.
COUNT_CAP = 1000
# The new-leads bar counts up to this many ("99+" beyond).
NEW_CAP = 100
# The new-leads bar looks at most this many leads past the page's newest (by id, the order they
# reached the mirror): a range on the primary key, whatever the filters.
NEW_WINDOW = 1000


@dataclass(frozen=True)
class Queue:
    key: str
    name: str
    query: str
    title: str


BUILTIN_QUEUES = (
    Queue("mine", "My leads", "agent=me&status_not=CLOSED", "Assigned to you, not closed"),
    Queue("unassigned", "Unassigned", "agent=none&status_not=CLOSED", "Nobody's, not closed"),
    Queue("open", "All open", "status_not=CLOSED", "Every status but Closed"),
    Queue("overdue", "Overdue", "overdue=1", "Waiting longer than their status allows"),
    Queue("recent", "Recently updated", "updated_within=24", "Updated in the last 24 hours"),
)


def new_lead_days() -> int:
    return int(getattr(settings, "BOTPANEL_NEW_LEAD_DAYS", 7))


# --- saved views -----------------------------------------------------------------------------


def visible_views(user, seen: Visibility) -> QuerySet[SavedView]:
    """The person's own views and the shared ones they see: shared with everyone (no bot), or
    with a bot they see. Another person's personal view is never among them."""
    return (
        SavedView.objects.filter(
            Q(owner_id=user.pk)
            | Q(shared=True, bot__isnull=True)
            | Q(shared=True, bot_id__in=seen.ids)
        )
        .select_related("owner")
        .order_by("position", "id")
    )


def split_views(views: Iterable[SavedView]) -> tuple[list[SavedView], list[SavedView]]:
    """(personal, shared): the two lists a person sees and orders."""
    personal, shared = [], []
    for view in views:
        (shared if view.shared else personal).append(view)
    return personal, shared


# --- counts ----------------------------------------------------------------------------------


def query_params(query: str, *, user, bot: int | None) -> QueryDict:
    """A queue's or view's query as the list would read it: in the list's current bot `bot`
    unless it names one ("bot=all": every bot the person sees), "me" made their agent id."""
    params = QueryDict(query, mutable=True)
    if params.get("bot") == "all":
        params.pop("bot")
    elif "bot" not in params and bot is not None:
        params["bot"] = str(bot)
    return people.resolve_me(params, user)


@dataclass(frozen=True)
class Count:
    """A queue's or view's count: `value` None for a query the filters refuse; `capped` when
    there are at least that many (COUNT_CAP)."""

    value: int | None
    capped: bool = False

    @property
    def text(self) -> str:
        if self.value is None:
            return "—"
        return f"{self.value:,}+" if self.capped else f"{self.value:,}"


def count(query: str, *, user, seen: Visibility, bot: int | None) -> Count:
    """How many leads the query lists (exact when the list has it cached, else up to
    COUNT_CAP)."""
    params = query_params(query, user=user, bot=bot)
    scope = list_scope(seen, params)
    key = counting.params_key(params, without=lists.CONTROL_PARAMS, scope=scope.key)
    exact = counting.peek("count", key)  # the list's own count of the same leads
    if isinstance(exact, int):
        return Count(exact)

    def compute() -> int:
        lead_filter = lists.filtered(params, scope=scope)
        if not lead_filter.is_valid():
            return -1
        return lead_filter.qs.order_by()[:COUNT_CAP].count()

    found = counting.cached("queue-count", key, compute)
    return Count(None) if found < 0 else Count(found, capped=found >= COUNT_CAP)


def same_list(query: str, current: QueryDict, *, ignore_bot: bool) -> bool:
    """Whether `query` is the list the person is on (its paging and export aside)."""
    skip = ("page", "_export", *(("bot",) if ignore_bot else ()))
    return counting.params_key(QueryDict(query), without=skip) == counting.params_key(
        current, without=skip
    )


# --- new leads -------------------------------------------------------------------------------


def newest_lead_id() -> int:
    """The highest lead id in the mirror (cached per mirror version): where an empty list's
    new-leads bar counts from, as it has no newest lead of its own."""
    found = counting.cached(
        "newest-lead", "", lambda: Lead.objects.aggregate(n=Max("id"))["n"] or 0
    )
    return int(found)


def arrived_since(params: QueryDict, *, seen: Visibility, since_id: int) -> int:
    """Leads the list's `params` show that reached the mirror after the lead `since_id` (up to
    NEW_CAP). The ids past it first, a range on the primary key (usually none: no second
    query); then the filters on those ids only, which both databases seek by primary key."""
    arrived = list(
        Lead.objects.filter(id__gt=since_id)
        .order_by("id")
        .values_list("id", flat=True)[:NEW_WINDOW]
    )
    if not arrived:
        return 0
    leads = lists.matching(params, scope=list_scope(seen, params)).filter(id__in=arrived)
    return leads.order_by()[:NEW_CAP].count()


def new_count_text(found: int) -> str:
    return f"{NEW_CAP - 1}+" if found >= NEW_CAP else str(found)


# --- a page's marks ----------------------------------------------------------------------------

NEW_MARK = ("new", "New")
OVERDUE_MARK = ("overdue", "Overdue")


def new_for(user, rows: Iterable, now: datetime) -> frozenset[int]:
    """The ids of `rows` new for `user`: arrived in the last new_lead_days() and never opened
    by them. One query for the whole page, none when no row arrived that recently."""
    since = now - timedelta(days=new_lead_days())
    recent = [row.id for row in rows if row.remote_created_at and row.remote_created_at >= since]
    if not recent or user is None or not user.is_authenticated:
        return frozenset()
    opened = LeadSeen.objects.filter(user_id=user.pk, lead_id__in=recent).values_list(
        "lead_id", flat=True
    )
    return frozenset(recent) - frozenset(opened)


def page_marks(*, user, rows: Iterable, now: datetime | None = None) -> dict[str, tuple]:
    """{uuid: ((kind, text), …)} of a list page's rows (values with id, uuid, status,
    waiting_since and remote_created_at): new for the person, overdue now. They depend on who
    looks and when, so the table keys its cached rows by them (LeadTable.marks)."""
    rows = list(rows)
    now = now or timezone.now()
    new = new_for(user, rows, now)
    ruled = rules() if rows else {}
    marks = {}
    for row in rows:
        found = (NEW_MARK,) if row.id in new else ()
        if is_overdue(row.status, row.waiting_since, now, ruled):
            found += (OVERDUE_MARK,)
        if found:
            marks[row.uuid] = found
    return marks
