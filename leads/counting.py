"""Counts for the list (matching rows, leads per status), cached so that a page of a large mirror
does not COUNT the whole table on every request.

A cached count is keyed by the query's SQL and the *mirror version*, which every write to the
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
from django.db.models import QuerySet
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


def cached(kind: str, queryset: QuerySet, compute: Callable[[], object]) -> object:
    try:
        sql = str(queryset.query)
    except EmptyResultSet:  # .none(): nothing to count, nothing to cache
        return compute()
    key = "botpanel:{}:{}:{}".format(
        kind, mirror_version(), hashlib.sha256(sql.encode("utf-8", "replace")).hexdigest()
    )
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, ttl())
    return value


class CachedCountPaginator(Paginator):
    """Django's paginator with the COUNT served from the cache above."""

    @cached_property
    def count(self) -> int:
        object_list = self.object_list
        # django-tables2 hands over its BoundRows, whose .data.data is the queryset
        queryset = getattr(getattr(object_list, "data", None), "data", object_list)
        if isinstance(queryset, QuerySet):
            return cached("count", queryset, lambda: queryset.count())
        return len(object_list)
