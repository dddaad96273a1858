"""Reads for the list: the filtered queryset, per-status counts, neighbours, tag suggestions."""

from collections.abc import Callable

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max, Min, QuerySet
from django.http import QueryDict

from leads.models import Lead, LeadTag, Status
from leads.selectors import counting
from leads.selectors.bots import EVERY_BOT, Scope
from leads.selectors.filters import LeadFilter

KIND_PARAM = "type"
NON_LEAD = "non-lead"
DEFAULT_ORDER = ("-remote_updated_at", "-id")
# Parameters that are the list's own controls (paging, sorting, export), not filters.
CONTROL_PARAMS = ("page", "sort", "per_page", "_export")


# From this offset on, a slice of the list is fetched with a "deferred join" (ListQuerySet).
DEEP_PAGE_OFFSET = 1000


class ListQuerySet(QuerySet):
    """Leads as the list reads them. A slice that starts DEEP_PAGE_OFFSET rows or more into the
    list (a far page) is fetched with a "deferred join": the page's ids first, which the list's
    index alone answers, then those rows. A plain OFFSET reads every skipped row from the table,
    which PostgreSQL does row by row."""

    def named_first(self, *, descending: bool = False) -> "ListQuerySet":
        """By name, leads without one after the named ones in either direction, each way read
        in the order of the (is_lead, name) index: descending, "" sorts last by itself;
        ascending, a slice reads the named leads, then (past them) the nameless ones by id
        (NamedFirstQuerySet)."""
        if descending:
            return self.order_by("-name", "-id")
        clone = self.order_by("name", "id")
        clone.__class__ = NamedFirstQuerySet
        return clone

    def ids_first(self) -> "ListQuerySet":
        """This queryset, every slice of which is fetched with the deferred join: for a filter
        that an index holding its columns answers alone (the search on PostgreSQL: the list's
        order indexes include name, email and phone), so that the rows it rejects are never
        read from the table."""
        clone = self.all()
        clone.__class__ = IdsFirstQuerySet
        return clone

    def fetches_ids_first(self, k) -> bool:
        return isinstance(k, slice) and k.step is None and (k.start or 0) >= DEEP_PAGE_OFFSET

    def __getitem__(self, k):
        if self.fetches_ids_first(k):
            # QuerySet's own slicing of the ids: this class's would come back here.
            ids = QuerySet.__getitem__(self.values("pk"), k)
            return self.filter(pk__in=ids)
        return super().__getitem__(k)


class IdsFirstQuerySet(ListQuerySet):
    """A ListQuerySet whose every slice is fetched ids first (ListQuerySet.ids_first)."""

    def fetches_ids_first(self, k) -> bool:
        return isinstance(k, slice) and k.step is None


class NamedFirstQuerySet(ListQuerySet):
    """The list by name, ascending, leads without a name (name "") after the named ones: a
    slice reads the named leads in the index's order, then, past them, the nameless by id."""

    def __getitem__(self, k):
        if isinstance(k, slice) and k.step is None:
            return self._slice_named_first(k.start or 0, k.stop)
        return super().__getitem__(k)

    def _slice_named_first(self, start: int, stop: int | None) -> list:
        plain = self.all()
        plain.__class__ = ListQuerySet
        named = plain.filter(name__gt="")
        rows = list(named[start:stop])
        if stop is not None and len(rows) == stop - start:
            return rows
        # How many named leads come first: known from a short slice, else counted.
        before = start + len(rows) if rows or not start else named.count()
        nameless = plain.filter(name="").order_by("id")
        end = None if stop is None else stop - before
        return rows + list(nameless[max(0, start - before) : end])


def is_non_lead(params: QueryDict) -> bool:
    return params.get(KIND_PARAM) == NON_LEAD


def base_queryset(params: QueryDict, *, scope: Scope = EVERY_BOT) -> ListQuerySet:
    """Leads, or other chats with ?type=non-lead, of the `scope`'s bots, newest first. `scope`:
    the bots a person sees (selectors.bots.list_scope); EVERY_BOT for the system itself."""
    # `is_lead IN (…)` rather than `is_lead = …`: Django writes the latter as a bare boolean
    # column on SQLite, which cannot use the (is_lead, …) indexes.
    leads = ListQuerySet(Lead).filter(is_lead__in=[not is_non_lead(params)])
    return scope.apply(leads).order_by(*DEFAULT_ORDER)


def filtered(params: QueryDict, *, scope: Scope = EVERY_BOT) -> LeadFilter:
    """The bound filter over the kind the params ask for (its .qs is the filtered queryset)."""
    return LeadFilter(params, queryset=base_queryset(params, scope=scope))


def matching(params: QueryDict, *, scope: Scope = EVERY_BOT) -> QuerySet[Lead]:
    """Every lead the params' filter matches (for "all N matching" bulk actions). Without any
    filter parameter that is the kind's base queryset, without building a FilterSet."""
    if not any(name in LeadFilter.base_filters for name in params):
        return base_queryset(params, scope=scope)
    lead_filter = filtered(params, scope=scope)
    if not lead_filter.is_valid():
        return Lead.objects.none()
    return lead_filter.qs


def status_counts(
    params: QueryDict,
    *,
    scope: Scope = EVERY_BOT,
    matched: Callable[[], QuerySet | None] | None = None,
) -> dict[str, int]:
    """status_counts_read()'s counts."""
    return status_counts_read(params, scope=scope, matched=matched)[0]


def status_counts_read(
    params: QueryDict,
    *,
    scope: Scope = EVERY_BOT,
    matched: Callable[[], QuerySet | None] | None = None,
) -> tuple[dict[str, int], bool]:
    """(counts, whether they were read from the database now rather than from the cache).
    Leads per status under every filter but the status one, in one query (cached, under the
    scope too: the FilterSet and the SQL are only built on a miss): `all` of them (a status
    that is none of the six counts there only) and `newest`, the highest id listed, from which
    the new-leads bar counts arrivals. `matched`: gives the leads matching(params) when the
    caller holds them already (the list's own FilterSet's, when valid), or None; used when
    `params` filter no status, to build no second FilterSet."""

    def compute() -> dict[str, int]:
        queryset = matched() if matched is not None and "status" not in params else None
        if queryset is None:
            without_status = params.copy()
            without_status.pop("status", None)
            queryset = matching(without_status, scope=scope)
        queryset = queryset.order_by()
        # GROUP BY status: the (is_lead, status, …) index answers it alone, where a count per
        # status read every row (a third of the time without a filter, half with a search).
        groups = queryset.values_list("status").annotate(n=Count("id"), newest=Max("id"))
        counts = dict.fromkeys(Status.values, 0)
        total, newest = 0, None
        for status, n, highest in groups:
            total += n
            newest = highest if newest is None else max(newest, highest)
            if status in counts:
                counts[status] = n
        return {"all": total, "newest": newest, **counts}

    # Cached under every filter but the status one.
    key = counting.params_key(params, without=("status", *CONTROL_PARAMS), scope=scope.key)
    return counting.cached_or_computed("status-counts", key, compute)


def neighbours(
    *, lead: Lead, params: QueryDict, scope: Scope = EVERY_BOT
) -> tuple[str | None, str | None]:
    """(previous uuid, next uuid) of `lead` within the list's current filter and default order
    (newest updated first, then highest id). Each side is one range scan on the list's index,
    from `lead`'s place: a row-value comparison, which both databases seek an index with."""
    when = lead.remote_updated_at
    if when is None:
        return None, None
    queryset = matching(params, scope=scope)
    place = [connection.ops.adapt_datetimefield_value(when), lead.id]

    def first(op: str, *order: str) -> str | None:
        beyond = f'("leads_lead"."remote_updated_at", "leads_lead"."id") {op} (%s, %s)'
        # S610: constant column names and one of two operators; the values are parameters.
        return (
            queryset.extra(where=[beyond], params=place)  # noqa: S610
            .order_by(*order)
            .values_list("uuid", flat=True)
            .first()
        )

    return first(">", "remote_updated_at", "id"), first("<", *DEFAULT_ORDER)


TAG_SUGGESTIONS_SECONDS = 60


def tag_suggestions(limit: int = 200, *, scope: Scope = EVERY_BOT) -> list[str]:
    """Tags already in use on the scope's bots, most used first. Every list page asks for them
    (the tag inputs' datalist) and counting them groups every tag row (~0.1 s at 100,000 leads),
    so they are cached for a minute: a brand-new tag may take that long to be suggested."""

    def compute() -> list[str]:
        rows = (
            scope.apply(LeadTag.objects.all(), "lead__bot_id")
            .values("key")
            .annotate(n=Count("id"), name=Min("name"))
            .order_by("-n", "key")[:limit]
        )
        return [row["name"] for row in rows]

    key = f"botpanel:tag-suggestions:{limit}:{scope.key}"
    return cache.get_or_set(key, compute, TAG_SUGGESTIONS_SECONDS)
