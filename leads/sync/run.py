"""One sync: BotPenguin's chats mirrored into `Lead` rows, and the `SyncRun` that records it.

The listing is paged by number only, with no total and no documented order (the sandbox and, as far
as anyone can tell, BotPenguin list newest `updatedAt` first). So:

* pages are fetched a few at a time in worker threads and consumed strictly in page order
  (leads.sync.pages); each is turned into rows there (leads.sync.rows);
* an empty page ends a listing; one that runs past SYNC_MAX_PAGES pages, or a page listing
  exactly the uuids of the page before (a server ignoring `page`), fails the sync;
* a uuid listed twice (the listing shifts while it is read) is written once, newest version wins;
* an incremental sync stops after the first page whose chats are all older than the newest
  `updatedAt` the last successful sync saw: that page is the overlap;
* rows are written in batches of at most 500 (leads.sync.writer), each in its own short
  transaction, whatever a page holds, so a sync
  never holds the write lock long enough to stall a person's edit, and no transaction is open
  across an HTTP call;
* a failure (token rejected, API down, malformed or endless listing) keeps the whole records already written,
  marks nothing missing, keeps the incremental mark where it was and is recorded on the `SyncRun`;
* at most one sync runs at a time (leads.sync.lease).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from leads.botpenguin.client import BotPenguinClient
from leads.botpenguin.errors import BotPenguinError, ConfigurationError
from leads.bots.config import client_for, default_bot
from leads.models import Bot, SyncRun
from leads.selectors import counting
from leads.sync import statistics as db_statistics
from leads.sync.errors import ListingUnbounded, SyncBusy, SyncError, SyncLeaseLost, one_line
from leads.sync.lease import SyncLeaseHandle, default_holder, take_sync_lease
from leads.sync.missing import mark_missing
from leads.sync.pages import ListingBounds, iter_pages
from leads.sync.rows import Page, Row, build_page
from leads.sync.writer import (
    BATCH_SIZE,
    BatchResult,
    LeadColumns,
    deferred_checkpoints,
    write_batch,
)

logger = logging.getLogger(__name__)

KINDS = ("lead", "non-lead")
MAX_CONCURRENCY = 16
# PostgreSQL: pages fetched and built ahead while a batch is written (its threads fetch at most
# `concurrency` at once); enough for a batch and a half of 100-chat pages. Only when every page
# is read (a full listing): an incremental sync stops at its mark, usually on page 1 or 2, and
# asks for at most `concurrency` pages beyond the one it reads.
PREFETCH_PAGES = {"postgresql": 32}
# How far before its own start a full sync's catch-up pass reads (clock skew with BotPenguin).
CATCH_UP_MARGIN = timedelta(minutes=2)

ProgressCallback = Callable[[int, int], None]  # (pages read, chats read)


@dataclass
class Counts:
    pages: int = 0
    chats: int = 0
    skipped: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    marks: dict[str, str] = field(default_factory=dict)

    def add_page(self, page: Page) -> None:
        self.pages += 1
        self.chats += page.listed
        self.skipped += page.skipped

    def add_batch(self, result: BatchResult) -> None:
        self.created += result.created
        self.updated += result.updated
        self.unchanged += result.unchanged


@dataclass
class _Job:
    """What every listing of one sync shares."""

    client: BotPenguinClient
    bot: Bot
    sync_time: datetime
    run: SyncRun
    lease: SyncLeaseHandle
    progress: ProgressCallback | None

    def report(self, counts: Counts) -> None:
        if self.progress:
            self.progress(counts.pages, counts.chats)


def sync_leads(
    *,
    kinds: Iterable[str] = KINDS,
    full: bool = False,
    concurrency: int = 4,
    client: BotPenguinClient | None = None,
    progress: ProgressCallback | None = None,
    run: SyncRun | None = None,
    holder: str | None = None,
    bot: Bot | None = None,
) -> SyncRun:
    """Run one sync of `bot` (by default the run's bot, else leads.bots.config.default_bot) and
    return its SyncRun. Raises SyncError (recorded on the run) on failure, and SyncBusy, before
    doing anything, while another sync of that bot holds its lease (with `run`, the run given is
    then recorded as failed with that message)."""
    kinds = tuple(kinds)
    if not kinds or any(k not in KINDS for k in kinds):
        raise ValueError(f"kinds must be taken from {KINDS}")
    concurrency = max(1, min(int(concurrency), MAX_CONCURRENCY))
    kind_label = kinds[0] if len(kinds) == 1 else "all"
    if bot is None and run is not None and run.bot_id is not None:
        bot = run.bot
    if bot is None:
        try:
            bot = default_bot()
        except ConfigurationError as e:
            if run is not None:
                _finish(run, Counts(), error=str(e))
            raise SyncError(str(e), run) from e
    try:
        lease = take_sync_lease(bot_id=bot.pk, holder=holder or default_holder(), run=run)
    except SyncBusy as e:
        if run is not None:
            _finish(run, Counts(), error=str(e))
        raise
    try:
        run = _open_run(run, lease, bot=bot, kind=kind_label, full=full)
        return _sync_leased(
            lease,
            run,
            bot=bot,
            kinds=kinds,
            full=full,
            concurrency=concurrency,
            client=client,
            progress=progress,
        )
    except Exception as e:
        # An unexpected error: the run must not say "running" for ever (unless the error broke
        # an enclosing transaction, which then undoes the run and the lease anyway).
        if run is not None and not _transaction_broken():
            SyncRun.objects.filter(pk=run.pk, state=SyncRun.State.RUNNING).update(
                state=SyncRun.State.FAILED, finished_at=timezone.now(), error=one_line(e)
            )
        raise
    finally:
        if not _transaction_broken():
            lease.release()


def _open_run(
    run: SyncRun | None, lease: SyncLeaseHandle, *, bot: Bot, kind: str, full: bool
) -> SyncRun:
    """The run this sync records itself on: a new one, or the one queued for it."""
    if run is None:
        run = SyncRun.objects.create(bot=bot, kind=kind, full=full)
        lease.attach(run)
    else:
        SyncRun.objects.filter(pk=run.pk).update(bot=bot, kind=kind, full=full)
        run.refresh_from_db()
    return run


def _transaction_broken() -> bool:
    return connection.in_atomic_block and transaction.get_rollback()


def _sync_leased(
    lease: SyncLeaseHandle,
    run: SyncRun,
    *,
    bot: Bot,
    kinds: tuple[str, ...],
    full: bool,
    concurrency: int,
    client: BotPenguinClient | None,
    progress: ProgressCallback | None,
) -> SyncRun:
    counts = Counts()
    sync_time = timezone.now()
    own_client = client is None
    marked = 0
    previous = last_marks(bot, kinds)  # where each listing stops, and the marks a run keeps
    try:
        if own_client:
            client = client_for(bot)
        job = _Job(client, bot, sync_time, run, lease, progress)
        with deferred_checkpoints():
            for kind in kinds:
                mark = None if full else previous.get(kind)
                _sync_kind(job, kind, counts, mark=mark, concurrency=concurrency)
            if full:
                marked = _catch_up_and_mark_missing(job, kinds, counts)
    except (BotPenguinError, SyncLeaseLost, ListingUnbounded) as e:
        _finish(run, counts, error=one_line(e))
        logger.warning("Sync %s failed: %s", run.pk, one_line(e))
        raise SyncError(one_line(e), run) from e
    finally:
        if own_client and client is not None:
            client.close()
    # Keep the previous marks for kinds this run saw no dated chat of.
    marks = dict(counts.marks)
    for kind in kinds:
        if kind not in marks and kind in previous:
            marks[kind] = previous[kind].isoformat()
    _finish(run, counts, marks=marks, marked_missing=marked)
    logger.info("Sync %s: %s", run.pk, run.summary())
    db_statistics.refresh_after_sync(created=counts.created)
    return run


def _catch_up_and_mark_missing(job: _Job, kinds: tuple[str, ...], counts: Counts) -> int:
    """After a full listing: flag the mirrored chats that this listing and the full listing
    before it both did not list (never delete them).

    A chat edited while the listing was read jumps to page 1, behind the reader, and would not
    be listed at all: the newest pages are read again first, down to what changed since the sync
    began. Pages are fetched several at a time, so a chat can also be skipped without being
    edited: page N+1 is read before page N, then an edit deeper down shifts the listing by one
    and the last chat of page N becomes the first of page N+1 (seen under load). Such a skip is
    rare and does not repeat, so one listing's absence is not enough; two in a row are."""
    catch_up = Counts()
    for kind in kinds:
        _sync_kind(job, kind, catch_up, mark=job.sync_time - CATCH_UP_MARGIN, concurrency=1)
    # Only what the catch-up changed counts (the rest was counted by the listing); the
    # incremental mark comes from the listing itself.
    counts.created += catch_up.created
    counts.updated += catch_up.updated
    job.lease.renew(force=True)
    counting.bump_mirror_version()
    return sum(
        mark_missing(bot=job.bot, kind=kind, run=job.run, sync_time=job.sync_time) for kind in kinds
    )


def _sync_kind(
    job: _Job, kind: str, counts: Counts, *, mark: datetime | None, concurrency: int
) -> None:
    """Read one listing (all of it, or down to the page that overlaps `mark`) and write it in
    batches; sets the listing's new incremental mark in `counts`."""
    is_lead = kind == "lead"
    columns = LeadColumns(bot_id=job.bot.pk, sync_time=job.sync_time)
    batch: dict[str, Row] = {}
    seen: dict[str, datetime | None] = {}
    newest: datetime | None = None
    batch_size = BATCH_SIZE.get(connection.vendor, 500)

    def fetch(page_no: int) -> Page:
        return build_page(job.client.list_chats(page_no, kind), is_lead=is_lead)

    prefetch = PREFETCH_PAGES.get(connection.vendor, 0) if mark is None else 0
    pages = iter_pages(fetch, kind=kind, concurrency=concurrency, prefetch=prefetch)
    bounds = ListingBounds(kind, settings.SYNC_MAX_PAGES)
    try:
        for page in pages:
            job.lease.renew()
            if not page.listed:
                break
            bounds.check(page)
            counts.add_page(page)
            newest = _newest(newest, page.rows)
            _take(page.rows, batch, seen)
            if len(batch) >= batch_size:
                _write(columns, batch, counts, batch_size, job.run)
            job.report(counts)
            if mark is not None and _all_older(page.rows, mark):
                break  # this page was the overlap
        if not _write(columns, batch, counts, batch_size, job.run):
            _write_progress(job.run, counts)
        job.report(counts)
    except (BotPenguinError, ListingUnbounded):
        _write(columns, batch, counts, batch_size)  # whole records read before are kept
        raise
    finally:
        pages.close()
    if newest is not None:
        # The mark never goes back (a listing whose newest chat is older than it).
        counts.marks[kind] = (newest if mark is None else max(newest, mark)).isoformat()


def _newest(newest: datetime | None, rows: list[Row]) -> datetime | None:
    for row in rows:
        if row.updated_at is not None and (newest is None or row.updated_at > newest):
            newest = row.updated_at
    return newest


def _all_older(rows: list[Row], mark: datetime) -> bool:
    return all(row.updated_at is not None and row.updated_at < mark for row in rows)


def _take(rows: list[Row], batch: dict[str, Row], seen: dict[str, datetime | None]) -> None:
    """Add the rows to the batch. A uuid listed again (the listing shifted while it was read)
    keeps its newer version."""
    for row in rows:
        if row.uuid in seen:
            before = seen[row.uuid]
            if before is not None and (row.updated_at is None or row.updated_at <= before):
                continue
        seen[row.uuid] = row.updated_at
        batch[row.uuid] = row


def _write(
    columns: LeadColumns,
    batch: dict[str, Row],
    counts: Counts,
    size: int,
    run: SyncRun | None = None,
) -> bool:
    """Write the batch, `size` rows per short transaction, then empty it; with `run`, record
    the progress in the same transactions. Returns whether there was anything to write."""
    if not batch:
        return False
    rows = list(batch.values())
    batch.clear()
    for start in range(0, len(rows), size):
        with transaction.atomic():
            counts.add_batch(write_batch(columns, rows[start : start + size]))
            if run is not None:
                _write_progress(run, counts)
    return True


def _write_progress(run: SyncRun, counts: Counts) -> None:
    SyncRun.objects.filter(pk=run.pk).update(
        progress={"pages": counts.pages, "chats": counts.chats}
    )


def last_mark(kind: str, bot: Bot | None = None) -> datetime | None:
    """The newest updatedAt the last successful sync of `kind` of `bot` (by default
    leads.bots.config.default_bot) saw."""
    return last_marks(bot or default_bot(), (kind,)).get(kind)


def last_marks(bot: Bot, kinds: Iterable[str]) -> dict[str, datetime]:
    """{kind: its last_mark} for the kinds that have one, from `bot`'s runs, in one query."""
    found: dict[str, datetime] = {}
    runs = SyncRun.objects.filter(bot=bot, state=SyncRun.State.SUCCEEDED).only("marks")
    for run in runs.order_by("-started_at", "-id")[:20]:
        for kind in kinds:
            if kind not in found and (value := (run.marks or {}).get(kind)):
                found[kind] = datetime.fromisoformat(value)
    return found


def _finish(
    run: SyncRun,
    counts: Counts,
    *,
    error: str = "",
    marks: dict | None = None,
    marked_missing: int = 0,
) -> None:
    run.finished_at = timezone.now()
    run.state = SyncRun.State.FAILED if error else SyncRun.State.SUCCEEDED
    run.error = error
    run.pages = counts.pages
    run.created = counts.created
    run.updated = counts.updated
    run.unchanged = counts.unchanged
    run.skipped = counts.skipped
    run.marked_missing = marked_missing
    run.marks = {} if error else (marks or {})
    run.progress = {"pages": counts.pages, "chats": counts.chats}
    run.save()
