"""Counts for the list (matching rows, leads per status), cached so that a page of a large mirror
does not COUNT the whole table on every request.

A cached count is keyed by what determines it (the list's filter parameters) and the *mirror
version*, which every write to the mirror bumps (services, delivery, sync): in one process counts
are exact. Across processes (several gunicorn workers with the per-process cache) a count is at
most COUNT_CACHE_SECONDS old (ttl()); configure a shared cache (CACHES) to make them exact
everywhere.
"""

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import QueryDict
from django.utils.functional import cached_property

VERSION_KEY = "botpanel:mirror-version"


def ttl() -> int:
    return int(getattr(settings, "COUNT_CACHE_SECONDS", 30))


def version(key: str) -> int:
    """The version counter under `key` (1 until first bumped), for caches keyed by it."""
    return cache.get_or_set(key, 1, None)


def bump(key: str) -> None:
    """Make what was cached under `key`'s current version out of date."""
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 2, None)


def mirror_version() -> int:
    return version(VERSION_KEY)


def bump_mirror_version() -> None:
    bump(VERSION_KEY)


def _full_key(kind: str, key: str) -> str:
    digest = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()
    return f"botpanel:{kind}:{mirror_version()}:{digest}"


def cached(kind: str, key: str, compute: Callable[[], object]) -> object:
    """`compute()`, cached under `kind`, `key` and the mirror version."""
    return cached_or_computed(kind, key, compute)[0]


def cached_or_computed(kind: str, key: str, compute: Callable[[], object]) -> tuple[object, bool]:
    """As cached(), and whether this call computed the value (True) or found it cached."""
    full_key = _full_key(kind, key)
    value = cache.get(full_key)
    if value is not None:
        return value, False
    value = compute()
    cache.set(full_key, value, ttl())
    return value, True


def peek(kind: str, key: str) -> object | None:
    """What `cached(kind, key, …)` holds now for the current mirror version, or None."""
    return cache.get(_full_key(kind, key))


def params_key(params: QueryDict, *, without: tuple[str, ...] = (), scope: str = "*") -> str:
    """A canonical text of a query string (sorted names and values) minus `without`, under a bot
    `scope` (selectors.bots.Scope.key): requests that filter the same way over the same bots share
    a cache entry, without compiling their SQL to find out."""
    return f"bots={scope}|" + "&".join(
        f"{name}={value}"
        for name in sorted(params)
        if name not in without
        for value in sorted(params.getlist(name))
    )


class CachedCountPaginator(Paginator):
    """Django's paginator with the count of matching rows served from the cache (`cached`),
    under `cache_key`: what determines the rows, such as the list's filter parameters. On a miss
    `known()` answers first when given (a count the page reads anyway, or None), else the rows
    are counted."""

    def __init__(
        self,
        object_list,
        per_page,
        *,
        cache_key: str,
        known: Callable[[], int | None] | None = None,
        **kwargs,
    ):
        super().__init__(object_list, per_page, **kwargs)
        self.cache_key = cache_key
        self.known = known

    @cached_property
    def count(self) -> int:
        return cached("count", self.cache_key, self._count)

    def _count(self) -> int:
        found = self.known() if self.known is not None else None
        return len(self.object_list) if found is None else found
