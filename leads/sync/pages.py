"""Reading a listing: pages fetched a few at a time in worker threads, handed over in page order.

The listing is paged by number only, with no total, so pages are asked for in a sliding window:
while the caller works on page n (writes a batch, say), pages n+1 onwards are on their way."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from leads.sync.errors import ListingUnbounded
from leads.sync.rows import Page

P = TypeVar("P")

# The fetch threads are named "<FETCH_THREADS>-<kind>_<n>" (the benchmark waits for them).
FETCH_THREADS = "sync-fetch"


def iter_pages(
    fetch: Callable[[int], P], *, kind: str, concurrency: int, prefetch: int = 0
) -> Iterator[P]:
    """Yield `fetch(1)`, `fetch(2)`, … in page order, fetching up to `concurrency` pages at once
    and keeping up to `prefetch` (at least `concurrency`) fetched or asked for ahead.

    `fetch` runs in the worker threads, so the work done there overlaps the caller's. Stops after
    the first empty (falsy) page. Closing the generator early (an incremental sync's stop)
    cancels the pages not yet started; a page already in flight finishes in its thread and is
    dropped. A fetch's exception is raised here, in page order."""
    executor = ThreadPoolExecutor(
        max_workers=concurrency, thread_name_prefix=f"{FETCH_THREADS}-{kind}"
    )
    pending: dict[int, Future] = {}
    next_page = 1

    def ask() -> None:
        nonlocal next_page
        pending[next_page] = executor.submit(fetch, next_page)
        next_page += 1

    try:
        for _ in range(max(concurrency, prefetch)):
            ask()
        page_no = 1
        while True:
            page = pending.pop(page_no).result()
            if not page:
                yield page
                return
            # Ask for the next page before the caller works on this one, so that `concurrency`
            # pages stay in flight meanwhile.
            ask()
            yield page
            page_no += 1
    finally:
        for future in pending.values():
            future.cancel()
        executor.shutdown(wait=False, cancel_futures=True)


class ListingBounds:
    """Ends a listing that would not end: past `max_pages`, or at a page that lists exactly the
    uuids of the page before (a server that ignores `page`)."""

    def __init__(self, kind: str, max_pages: int):
        self.kind = kind
        self.max_pages = max_pages
        self.page_no = 0
        self.previous: list[str] = []

    def check(self, page: Page) -> None:
        self.page_no += 1
        if self.page_no > self.max_pages:
            raise ListingUnbounded(
                f"the {self.kind} listing did not end within {self.max_pages:,} pages "
                "(SYNC_MAX_PAGES)"
            )
        uuids = [row.uuid for row in page.rows]
        if uuids and uuids == self.previous:
            raise ListingUnbounded(
                f"page {self.page_no} of the {self.kind} listing repeats page "
                f"{self.page_no - 1} exactly (BotPenguin ignored the page number)"
            )
        self.previous = uuids
