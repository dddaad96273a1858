"""Counts for the list (matching rows, leads per status), cached so that a page of a large mirror
does not COUNT the whole table on every request.

A cached count is keyed by what determines it (the list's filter parameters, or a query's SQL)
and the *mirror version*, which every write to the
mirror bumps (services, delivery, sync): in one process counts are exact. Across processes (several
gunicorn workers with the per-process cache) a count is at most COUNT_TTL seconds old; configure a
shared cache (CACHES) to make them exact everywhere.
"""

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db.models import QuerySet, Subquery
from django.http import QueryDict
from django.utils.functional import cached_property

VERSION_KEY = "botpanel:mirror-version"


def ttl() -> int:
    return int(getattr(settings, "COUNT_CACHE_SECONDS", 30))


def mirror_version() -> int:
    return cache.get_or_set(VERSION_KEY, 1, None)


def bump_mirror_version() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 2, None)


def _full_key(kind: str, key: str) -> str:
    digest = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()
    return f"botpanel:{kind}:{mirror_version()}:{digest}"


def cached(kind: str, key: str, compute: Callable[[], object]) -> object:
    """`compute()`, cached under `kind`, `key` and the mirror version."""
    full_key = _full_key(kind, key)
    value = cache.get(full_key)
    if value is None:
        value = compute()
        cache.set(full_key, value, ttl())
    return value


def peek(kind: str, key: str) -> object | None:
    """What `cached(kind, key, …)` holds now for the current mirror version, or None."""
    return cache.get(_full_key(kind, key))


def params_key(params: QueryDict, *, without: tuple[str, ...] = ()) -> str:
    """A canonical text of a query string (sorted names and values) minus `without`: requests
    that filter the same way share a cache entry, without compiling their SQL to find out."""
    return "&".join(
        f"{name}={value}"
        for name in sorted(params)
        if name not in without
        for value in sorted(params.getlist(name))
    )


# From this offset on a page is fetched with a "deferred join": the page's ids first, from the
# list's index alone, then those rows. A plain OFFSET reads every skipped row from the table,
# which PostgreSQL does row by row (page 200 of 100 rows: 20,000 heap reads).
DEEP_PAGE_OFFSET = 1000


class CachedCountPaginator(Paginator):
    """Django's paginator with the COUNT served from the cache above, under `cache_key` (what
    determines the rows: the list's filter parameters) or else the queryset's SQL; deep pages
    are fetched through their ids (DEEP_PAGE_OFFSET)."""

    def __init__(self, *args, cache_key: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.cache_key = cache_key

    def _queryset(self) -> QuerySet | None:
        # django-tables2 hands over its BoundRows, whose .data.data is the queryset
        object_list = self.object_list
        queryset = getattr(getattr(object_list, "data", None), "data", object_list)
        return queryset if isinstance(queryset, QuerySet) else None

    @cached_property
    def count(self) -> int:
        queryset = self._queryset()
        if queryset is None:
            return len(self.object_list)
        key = self.cache_key
        if key is None:
            try:
                key = str(queryset.query)
            except EmptyResultSet:  # .none(): nothing to count, nothing to cache
                return 0
        return cached("count", key, queryset.count)

    def page(self, number):
        page = super().page(number)
        queryset = self._queryset()
        bottom = (page.number - 1) * self.per_page
        if queryset is not None and bottom >= DEEP_PAGE_OFFSET:
            ids = queryset.values("pk")[bottom : bottom + self.per_page]  # index-only scan
            rows = page.object_list  # BoundRows: keep its table, swap its data
            page.object_list = type(rows)(
                data=queryset.filter(pk__in=Subquery(ids)), table=rows.table,
                pinned_data=rows.pinned_data,
            )  # fmt: skip
        return page
