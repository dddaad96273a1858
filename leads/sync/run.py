"""Mirror BotPenguin chats into `Lead` rows.

The listing is paged by number only, with no total and no documented order (the sandbox and, as far
as anyone can tell, BotPenguin list newest `updatedAt` first). So:

* pages are fetched a few at a time in worker threads, in a sliding window, and consumed strictly
  in page order; a long sync decodes them and builds their rows in worker processes
  (SYNC_BUILD_PROCESSES), so that the calling thread, which alone writes the database, does not
  wait for the GIL after every statement;
* an empty page ends a listing;
* a uuid listed twice (the listing shifts while it is read) is written once, newest version wins;
* an incremental sync stops after the first page whose chats are all older than the newest
  `updatedAt` the last successful sync saw: that page is the overlap;
* rows are upserted in batches, each in its own short transaction, so a sync never holds the write
  lock long enough to stall a person's edit, and no transaction is open across an HTTP call;
* a failure (token rejected, API down, malformed page) keeps the whole records already written,
  marks nothing missing, keeps the incremental mark where it was and is recorded on the `SyncRun`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import time
import uuid as uuidlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from leads.botpenguin.client import BotPenguinClient
from leads.botpenguin.errors import BotPenguinError
from leads.config import get_account, get_client
from leads.models import EDITABLE_FIELDS, Lead, LeadTag, SyncLease, SyncRun
from leads.selectors import counting
from leads.sync import statistics as db_statistics
from leads.sync.rows import (
    Page,
    Row,
    RowBuilderPool,
    RowSpec,
    build_listing,
    copy_line,
)

logger = logging.getLogger(__name__)

KINDS = ("lead", "non-lead")
# Rows a batch writes in one transaction. SQLite's write lock (and an edit waiting for it) lasts
# a batch; PostgreSQL locks only the batch's rows, and four times fewer statements and commits
# cut a large sync by a sixth.
BATCH_SIZE = {"sqlite": 500, "postgresql": 2000}
# PostgreSQL: pages fetched and built ahead while a batch is written (its threads fetch at most
# `concurrency` at once); enough for a batch and a half of 100-chat pages. Only when every page
# is read (a full listing): an incremental sync stops at its mark, usually on page 1 or 2, and
# asks for at most `concurrency` pages beyond the one it reads.
PREFETCH_PAGES = {"postgresql": 32}
MAX_CONCURRENCY = 16
# Pages built in the fetch threads before the sync starts its row-building processes (if any).
IN_THREAD_PAGES = 8


def build_processes() -> int:
    """How many worker processes a sync builds rows in (SYNC_BUILD_PROCESSES; 0: none)."""
    return max(0, int(getattr(settings, "SYNC_BUILD_PROCESSES", 0)))


# Fields a sync writes. `version` is bumped when any of them changes.
SYNCED_FIELDS = [
    *EDITABLE_FIELDS,
    "customer_id",
    "remote_id",
    "is_lead",
    "city",
    "country",
    "gender",
    "last_message_at",
    "last_message_by",
    "last_message_text",
    "last_seen_at",
    "is_online",
    "website_visits",
    "remote_created_at",
    "remote_updated_at",
    "raw",
    "raw_hash",
    "synced_at",
    "missing_since",
    "version",
]


class SyncError(Exception):
    """A sync stopped part-way. The message is one line; `run` is the recorded SyncRun."""

    def __init__(self, message: str, run: SyncRun | None = None):
        super().__init__(message)
        self.run = run


ProgressCallback = Callable[[int, int], None]  # (pages read, chats read)


# --- the sync lease -----------------------------------------------------------------------------
#
# At most one sync at a time, whoever starts it (the command, "Sync now", the scheduler) and on
# however many processes and machines: like a lead's delivery lease (leads.delivery.claim), the
# single SyncLease row is taken with one conditional UPDATE (free or expired), which the database
# lets exactly one of two racing syncs match, on SQLite and PostgreSQL alike. The sync renews it
# while it runs (on every page, at most every RENEW_EVERY seconds) and releases it when it ends,
# however it ends. A sync that crashed stops renewing: once its lease expires the next sync takes
# it over and marks the crashed run failed.

SYNC_LEASE_PK = 1
RENEW_EVERY = 15.0  # seconds


def sync_lease_seconds() -> float:
    return float(getattr(settings, "SYNC_LEASE_SECONDS", 300))


class SyncBusy(SyncError):
    """Another sync holds the lease."""


class _SyncLeaseLost(SyncError):
    """The lease expired while this sync ran (it stalled) and another sync took it over."""


def default_holder() -> str:
    return f"process {os.getpid()} on {socket.gethostname()}"


def _busy_message(lease: SyncLease | None) -> str:
    if lease is None or not lease.owner:
        return "a sync is already running"
    started = (
        timezone.localtime(lease.started_at).strftime("%Y-%m-%d %H:%M:%S %Z")
        if lease.started_at
        else "at an unknown time"
    )
    return f"a sync is already running (started {started} by {lease.holder or 'unknown'})"


class SyncLeaseHandle:
    """A taken lease: renew it while the sync runs, release it when it ends."""

    def __init__(self, owner: str):
        self.owner = owner
        self.renewed = time.monotonic()

    def renew(self, *, force: bool = False) -> None:
        """Push the expiry on (at most every RENEW_EVERY seconds unless forced); raises
        _SyncLeaseLost if another sync took the lease over meanwhile."""
        ttl = sync_lease_seconds()
        if not force and time.monotonic() - self.renewed < min(RENEW_EVERY, ttl / 3):
            return
        kept = SyncLease.objects.filter(pk=SYNC_LEASE_PK, owner=self.owner).update(
            expires_at=timezone.now() + timedelta(seconds=ttl)
        )
        if not kept:
            raise _SyncLeaseLost(
                "stopped: this sync stalled longer than SYNC_LEASE_SECONDS and another sync "
                "took over"
            )
        self.renewed = time.monotonic()

    def attach(self, run: SyncRun) -> None:
        SyncLease.objects.filter(pk=SYNC_LEASE_PK, owner=self.owner).update(run=run)

    def release(self) -> None:
        SyncLease.objects.filter(pk=SYNC_LEASE_PK, owner=self.owner).update(
            owner="", expires_at=None
        )


def take_sync_lease(*, holder: str, run: SyncRun | None = None) -> SyncLeaseHandle:
    """Take the sync lease, or raise SyncBusy saying who holds it and since when.

    With `run`: also succeeds when the lease was taken for that run (by services.sync_start,
    which takes it before queueing the run) and nobody took it over since."""
    SyncLease.objects.bulk_create([SyncLease(pk=SYNC_LEASE_PK)], ignore_conflicts=True)
    now = timezone.now()
    owner = uuidlib.uuid4().hex
    expires = now + timedelta(seconds=sync_lease_seconds())
    leases = SyncLease.objects.filter(pk=SYNC_LEASE_PK)
    if run is not None and leases.filter(run=run).exclude(owner="").update(
        owner=owner, expires_at=expires
    ):
        return SyncLeaseHandle(owner)
    before = leases.first()
    free = Q(owner="") | Q(expires_at__isnull=True) | Q(expires_at__lt=now)
    if not leases.filter(free).update(
        owner=owner, holder=holder[:255], run=run, started_at=now, expires_at=expires
    ):
        raise SyncBusy(_busy_message(leases.first()), run)
    if (
        before is not None
        and before.owner
        and before.run_id
        and before.run_id != getattr(run, "pk", None)
    ):
        # Taken over from a sync that stopped renewing (killed, machine lost): its run would
        # otherwise say "running" for ever.
        SyncRun.objects.filter(pk=before.run_id, state=SyncRun.State.RUNNING).update(
            state=SyncRun.State.FAILED,
            finished_at=now,
            error="interrupted: the sync stopped without finishing (its lease expired)",
        )
        logger.warning("Took over the expired sync lease of run %s", before.run_id)
    return SyncLeaseHandle(owner)


@dataclass
class _Counts:
    pages: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    chats: int = 0
    marks: dict[str, str] = field(default_factory=dict)


def sync_leads(
    *,
    kinds: Iterable[str] = KINDS,
    full: bool = False,
    concurrency: int = 4,
    client: BotPenguinClient | None = None,
    progress: ProgressCallback | None = None,
    run: SyncRun | None = None,
    holder: str | None = None,
) -> SyncRun:
    """Run one sync and return its SyncRun. Raises SyncError (recorded on the run) on failure,
    and SyncBusy, before doing anything, while another sync holds the sync lease (with `run`,
    the run given is then recorded as failed with that message)."""
    kinds = tuple(kinds)
    if not kinds or any(k not in KINDS for k in kinds):
        raise ValueError(f"kinds must be taken from {KINDS}")
    concurrency = max(1, min(int(concurrency), MAX_CONCURRENCY))
    kind_label = kinds[0] if len(kinds) == 1 else "all"
    try:
        lease = take_sync_lease(holder=holder or default_holder(), run=run)
    except SyncBusy as e:
        if run is not None:
            _finish(run, _Counts(), error=str(e))
        raise
    try:
        if run is None:
            run = SyncRun.objects.create(kind=kind_label, full=full)
            lease.attach(run)
        else:
            SyncRun.objects.filter(pk=run.pk).update(kind=kind_label, full=full)
            run.refresh_from_db()
        return _sync_leased(
            lease, run, kinds=kinds, full=full, concurrency=concurrency, client=client,
            progress=progress,
        )  # fmt: skip
    except Exception as e:
        # An unexpected error: the run must not say "running" for ever (unless the error broke
        # an enclosing transaction, which then undoes the run and the lease anyway).
        if run is not None and not connection.needs_rollback:
            SyncRun.objects.filter(pk=run.pk, state=SyncRun.State.RUNNING).update(
                state=SyncRun.State.FAILED, finished_at=timezone.now(), error=_one_line(e)
            )
        raise
    finally:
        if not connection.needs_rollback:
            lease.release()


def _sync_leased(
    lease: SyncLeaseHandle,
    run: SyncRun,
    *,
    kinds: tuple[str, ...],
    full: bool,
    concurrency: int,
    client: BotPenguinClient | None,
    progress: ProgressCallback | None,
) -> SyncRun:
    counts = _Counts()
    sync_time = timezone.now()
    own_client = client is None
    processes = build_processes()
    pool = RowBuilderPool(processes) if processes else None
    restore_checkpoint = _defer_checkpoints()
    try:
        account = get_account()
        if own_client:
            client = get_client()
        for kind in kinds:
            mark = None if full else last_mark(kind)
            _sync_kind(
                client=client,
                bot_id=account.bot_id,
                customer_id=account.customer_id,
                kind=kind,
                mark=mark,
                concurrency=concurrency,
                sync_time=sync_time,
                counts=counts,
                run=run,
                progress=progress,
                lease=lease,
                pool=pool,
            )
        marked = 0
        if full:
            # A chat edited while the listing was read jumps to page 1, behind the reader, and
            # would not be listed at all: read the newest pages again, down to what changed since
            # the sync began, before flagging anything missing.
            catch_up = _Counts()
            for kind in kinds:
                _sync_kind(
                    client=client,
                    bot_id=account.bot_id,
                    customer_id=account.customer_id,
                    kind=kind,
                    mark=sync_time - CATCH_UP_MARGIN,
                    concurrency=1,
                    sync_time=sync_time,
                    counts=catch_up,
                    run=run,
                    progress=None,
                    lease=lease,
                )
            # Only what the catch-up changed counts (the rest was counted by the listing); the
            # incremental mark comes from the listing itself.
            counts.created += catch_up.created
            counts.updated += catch_up.updated
            lease.renew(force=True)
            marked = _mark_missing(bot_id=account.bot_id, kinds=kinds, sync_time=sync_time)
    except (BotPenguinError, _SyncLeaseLost) as e:
        _finish(run, counts, error=_one_line(e))
        logger.warning("Sync %s failed: %s", run.pk, _one_line(e))
        raise SyncError(_one_line(e), run) from e
    finally:
        if own_client and client is not None:
            client.close()
        if pool is not None:
            pool.close()
        restore_checkpoint()
    # Keep the previous marks for kinds this run saw no dated chat of.
    marks = {k: v for k, v in counts.marks.items()}
    for kind in kinds:
        if kind not in marks and (previous := last_mark(kind)):
            marks[kind] = previous.isoformat()
    _finish(run, counts, marks=marks, marked_missing=marked)
    logger.info("Sync %s: %s", run.pk, run.summary())
    db_statistics.refresh_after_sync(created=counts.created)  # ~1 s per 100,000 leads
    return run


# How far before its own start a full sync's catch-up pass reads (clock skew with BotPenguin).
CATCH_UP_MARGIN = timedelta(minutes=2)

SQLITE_SYNC_CHECKPOINT_PAGES = 16_000  # ~64 MB of WAL between checkpoints during a sync


def _defer_checkpoints() -> Callable[[], None]:
    """SQLite: while this sync writes, checkpoint the WAL every ~64 MB instead of every 4 MB.

    A checkpoint copies every page changed since the last one into the database file and syncs
    it; the random uuids and search trigrams a batch adds touch pages all over the indexes, so
    with a checkpoint every couple of batches the same pages were written again and again (a
    fifth of a large sync went to commits). Same durability: in WAL mode with synchronous=NORMAL
    a commit is not synced either way. Returns the function that restores the setting."""
    if connection.vendor != "sqlite":
        return lambda: None
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA wal_autocheckpoint = {int(SQLITE_SYNC_CHECKPOINT_PAGES)}")

    def restore() -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint = {int(previous)}")

    return restore


def last_mark(kind: str) -> datetime | None:
    """The newest updatedAt the last successful sync of `kind` saw."""
    runs = SyncRun.objects.filter(state=SyncRun.State.SUCCEEDED).only("marks")
    for run in runs.order_by("-started_at", "-id")[:20]:
        if value := (run.marks or {}).get(kind):
            parsed = datetime.fromisoformat(value)
            return parsed
    return None


# --- listing ------------------------------------------------------------------------------------


# The sync's fetch threads are named "<FETCH_THREADS>-<kind>_<n>".
FETCH_THREADS = "sync-fetch"


def iter_pages(
    fetch: Callable[[int], Page], *, kind: str, concurrency: int, prefetch: int = 0
) -> Iterator[tuple[int, Page]]:
    """Yield (page number, page) in page order, fetching up to `concurrency` pages at once
    and keeping up to `prefetch` (at least `concurrency`) fetched or asked for ahead.

    A page is what `fetch(page number)` returns; it runs in the worker threads, so work done
    there overlaps the database writes. Stops after the first empty page. Closing the generator
    early (incremental stop) cancels the pages not yet started; a page already in flight
    finishes in its thread and is dropped.
    """
    executor = ThreadPoolExecutor(
        max_workers=concurrency, thread_name_prefix=f"{FETCH_THREADS}-{kind}"
    )
    pending: dict[int, Future] = {}
    next_page = 1
    try:
        for _ in range(max(concurrency, prefetch)):
            pending[next_page] = executor.submit(fetch, next_page)
            next_page += 1
        page = 1
        while True:
            data = pending.pop(page).result()  # re-raises the client's own errors
            if data:
                # Ask for the next page before the caller works on this one (writes a batch,
                # say), so that `concurrency` pages stay in flight meanwhile.
                pending[next_page] = executor.submit(fetch, next_page)
                next_page += 1
            yield page, data
            if not data:
                return
            page += 1
    finally:
        for future in pending.values():
            future.cancel()
        executor.shutdown(wait=False, cancel_futures=True)


def _sync_kind(
    *,
    client: BotPenguinClient,
    bot_id: str,
    customer_id: str,
    kind: str,
    mark: datetime | None,
    concurrency: int,
    sync_time: datetime,
    counts: _Counts,
    run: SyncRun,
    progress: ProgressCallback | None,
    lease: SyncLeaseHandle,
    pool: RowBuilderPool | None = None,
) -> None:
    is_lead = kind == "lead"
    writer = _Writer(
        bot_id=bot_id, customer_id=customer_id, is_lead=is_lead, sync_time=sync_time, pool=pool
    )
    batch: dict[str, Row] = {}
    seen: dict[str, datetime | None] = {}
    newest: datetime | None = None
    flush = partial(writer.flush, batch, counts)
    pages = iter_pages(
        partial(writer.fetch_page, client, kind),
        kind=kind,
        concurrency=concurrency,
        prefetch=PREFETCH_PAGES.get(connection.vendor, 0) if mark is None else 0,
    )
    batch_size = BATCH_SIZE.get(connection.vendor, 500)
    try:
        for _page_no, page in pages:
            lease.renew()
            if not page.listed:
                break
            counts.pages += 1
            counts.chats += page.listed
            counts.skipped += page.skipped
            all_older = mark is not None
            for row in page.rows:
                updated = row.updated_at
                if updated is not None and (newest is None or updated > newest):
                    newest = updated
                if mark is not None and (updated is None or updated >= mark):
                    all_older = False
                if row.uuid in seen:
                    # Listed again: the listing shifted. Keep the newer version.
                    before = seen[row.uuid]
                    if before is not None and (updated is None or updated <= before):
                        continue
                seen[row.uuid] = updated
                batch[row.uuid] = row
            if len(batch) >= batch_size:
                flush(run=run)  # records the progress in the batch's own transaction
            if progress:
                progress(counts.pages, counts.chats)
            if all_older:
                break  # this page was the overlap
        if not flush(run=run):
            _write_progress(run, counts)  # nothing left to write: record the progress alone
        if progress:
            progress(counts.pages, counts.chats)
    except BotPenguinError:
        # Whole, correct records read before the failure are kept.
        flush()
        raise
    finally:
        pages.close()
    if newest is not None:
        if mark is not None and mark > newest:
            newest = mark
        counts.marks[kind] = newest.isoformat()


def _write_progress(run: SyncRun, counts: _Counts) -> None:
    SyncRun.objects.filter(pk=run.pk).update(
        progress={"pages": counts.pages, "chats": counts.chats}
    )


# --- writing ------------------------------------------------------------------------------------


def tag_rows(lead_id: int, tags: Iterable[str]) -> list[LeadTag]:
    rows: dict[str, LeadTag] = {}
    for tag in tags:
        key = tag.casefold()[:255]
        if key and key not in rows:
            rows[key] = LeadTag(lead_id=lead_id, name=tag[:255], key=key)
    return list(rows.values())


def _tag_values(lead_id: int, tags: Iterable[str]) -> list[tuple[int, str, str]]:
    """tag_rows() as (lead_id, name, key) tuples, for the sync's bulk insert."""
    rows: dict[str, tuple[int, str, str]] = {}
    for tag in tags:
        key = tag.casefold()[:255]
        if key and key not in rows:
            rows[key] = (lead_id, tag[:255], key)
    return list(rows.values())


TEMP_TABLE = "botpanel_lead_sync"


class _Writer:
    """Turns pages into rows (leads.sync_rows: in worker processes, or in the fetch threads) and
    writes batches of them (in the calling thread, each batch in one short transaction).

    Every column is prepared before the batch: JSON columns as JSON text (the chat itself as the
    API sent it), datetimes as the backend stores them, for PostgreSQL the whole row as COPY
    text. A batch then costs, besides the read of its existing rows: on SQLite one
    INSERT … ON CONFLICT … RETURNING (multi-row VALUES); on PostgreSQL one COPY of the new rows
    straight into the table (ids drawn from its sequence first) and, for changed rows, a COPY
    into a temporary table and one INSERT … SELECT … ON CONFLICT; then one bulk insert of the
    tags. A chat whose hash is unchanged only has `synced_at` set; a row whose tags are unchanged
    keeps its LeadTag rows.
    """

    def __init__(
        self,
        *,
        bot_id: str,
        customer_id: str,
        is_lead: bool,
        sync_time: datetime,
        pool: RowBuilderPool | None = None,
    ):
        self.bot_id = bot_id
        self.customer_id = customer_id
        self.is_lead = is_lead
        self.vendor = connection.vendor
        self.sync_time = sync_time
        self.pool = pool
        fields = [f for f in Lead._meta.concrete_fields if not f.primary_key]
        # Every column on insert (fields a sync does not own take their model defaults), only
        # the synced ones on update.
        self.columns = [f.attname for f in fields]
        defaults = {f.attname: f.get_default() for f in fields}
        defaults.update(
            bot_id=bot_id,
            customer_id=customer_id,
            synced_at=sync_time,
            missing_since=None,
            version=1,
        )
        spec = RowSpec(
            columns=self.columns,
            defaults=[defaults[name] for name in self.columns],
            is_lead=is_lead,
            db_timezone=connection.timezone if self.vendor == "sqlite" else None,
            copy_lines=self.vendor == "postgresql",
            datetime_columns=frozenset(
                f.attname for f in fields if f.get_internal_type() == "DateTimeField"
            ),
        )
        self.spec = spec
        self.position = spec.position
        self.adapt = spec.adapt
        self.sequence: str | None = None  # PostgreSQL: the id sequence's name, once asked
        quote = connection.ops.quote_name
        self.table_sql = quote(Lead._meta.db_table)
        self.columns_sql = ", ".join(quote(c) for c in self.columns)
        # A row is only written when its chat changed: its version goes one up.
        self.on_conflict_sql = (
            f"ON CONFLICT ({quote('bot_id')}, {quote('uuid')}) DO UPDATE SET "
            + ", ".join(
                f"{quote(c)} = {self.table_sql}.{quote(c)} + 1"
                if c == "version"
                else f"{quote(c)} = excluded.{quote(c)}"
                for c in SYNCED_FIELDS
            )
            + f" RETURNING {quote('id')}, {quote('uuid')}"
        )

    # --- in the fetch threads -------------------------------------------------------------------

    def fetch_page(self, client: BotPenguinClient, kind: str, page: int) -> Page:
        """One page of the listing as rows: decoded and built in a worker process when the
        sync has them (from page IN_THREAD_PAGES + 1 on: a small sync starts none), else here."""
        if self.pool is not None and page > IN_THREAD_PAGES:
            build = partial(self.pool.build, self.spec)
        else:
            build = partial(build_listing, self.spec)
        result = client.list_chats_decoded(page, kind, build)
        for problem in result.problems:
            logger.info("Skipped a chat that could not be parsed: %s", problem)
        return result

    # --- in the calling thread ------------------------------------------------------------------

    def flush(self, batch: dict[str, Row], counts: _Counts, run: SyncRun | None = None) -> bool:
        """Upsert one batch in one short transaction, then empty it; with `run`, record the
        progress in the same transaction (one commit, not two: on PostgreSQL a separate
        autocommit UPDATE waited for the WAL flush of the batch before it, which the batch's own
        asynchronous commit had saved). Returns whether there was anything to write."""
        if not batch:
            return False
        rows = list(batch.values())
        batch.clear()

        def write(copy_new: bool) -> None:
            with transaction.atomic():
                self._flush(rows, counts, copy_new=copy_new)
                if run is not None:
                    _write_progress(run, counts)

        if self.vendor != "postgresql":
            write(copy_new=False)
            return True
        before = (counts.created, counts.updated, counts.unchanged)
        try:
            write(copy_new=True)
        except (IntegrityError, connection.Database.IntegrityError):
            # A chat taken for new was inserted meanwhile (not by a sync: they hold the lease).
            # The batch was rolled back: write it again, every row through the upsert.
            logger.info("Sync batch met a lead created meanwhile: written again by upsert")
            counts.created, counts.updated, counts.unchanged = before
            write(copy_new=False)
        return True

    def _flush(self, rows: list[Row], counts: _Counts, *, copy_new: bool = False) -> None:
        """Write one batch in the current transaction. With `copy_new` (PostgreSQL), rows
        not found by the batch's read are COPYed straight into the table, with ids drawn from
        its sequence first, instead of going through the temporary table and the upsert."""
        quote = connection.ops.quote_name
        table = quote(Lead._meta.db_table)
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                # A batch's commit does not wait for its WAL flush. Safe: WAL is written in
                # order, so the run's final record (a normal commit) is durable only after every
                # batch before it, and a batch lost to a crash is read again by the next sync.
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
            # Row locks (PostgreSQL) so that an edit cannot slip in between this read and the
            # write; SQLite's IMMEDIATE transaction already holds the write lock.
            uuids = [row.uuid for row in rows]
            if self.vendor == "postgresql":
                # One index probe per uuid, whatever the statistics say: with `uuid = ANY(…)`
                # and statistics from before a first large sync, PostgreSQL reads every row
                # of the bot for every batch.
                cursor.execute(
                    "SELECT l.uuid, l.id, l.raw_hash, l.change_state, l.tags "
                    "FROM unnest(%s::text[]) AS u(uuid) CROSS JOIN LATERAL ("
                    f"SELECT uuid, id, raw_hash, change_state, tags FROM {table} "
                    "WHERE bot_id = %s AND uuid = u.uuid FOR UPDATE) AS l",
                    [uuids, self.bot_id],
                )
            else:
                cursor.execute(
                    f"SELECT uuid, id, raw_hash, change_state, tags FROM {table} "
                    f"WHERE bot_id = %s AND uuid IN ({', '.join(['%s'] * len(uuids))})",
                    [self.bot_id, *uuids],
                )
            existing = {uuid: rest for uuid, *rest in cursor.fetchall()}  # id, hash, state, tags
        # Fields with an undelivered edit keep the edited value until it is delivered.
        held_uuids = [u for u, known in existing.items() if known[2] in ("pending", "failed")]
        pending = (
            {
                lead.uuid: lead
                for lead in Lead.objects.filter(bot_id=self.bot_id, uuid__in=held_uuids)
            }
            if held_uuids
            else {}
        )
        write: list[Row] = []
        unchanged_ids: list[int] = []
        retag: set[int] = set()
        for row in rows:
            known = existing.get(row.uuid)
            if known is not None and known[1] == row.raw_hash:
                unchanged_ids.append(known[0])
                continue
            if (held := pending.get(row.uuid)) is not None:
                for name in held.pending_fields:
                    if name in self.position:
                        value = getattr(held, name)
                        row.values[self.position[name]] = self.adapt(name, value)
                        if name == "tags":
                            row.tags = list(value)
                if row.line is not None:
                    row.line = copy_line(row.values)
            if known is not None:
                counts.updated += 1
                if _tags_changed(known[3], row.tags):
                    retag.add(known[0])
            else:
                counts.created += 1
            write.append(row)
        if write:
            if copy_new:
                ids = self._copy_new([row for row in write if row.uuid not in existing])
                changed = [row for row in write if row.uuid in existing]
                if changed:
                    ids.update(self._upsert(changed))
            else:
                ids = self._upsert(write)
            new_tags = [
                tag
                for row in write
                if row.uuid not in existing or ids[row.uuid] in retag
                for tag in _tag_values(ids[row.uuid], row.tags)
            ]
            self._write_tags(retag, new_tags)
        if unchanged_ids:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET synced_at = %s, missing_since = NULL "
                    f"WHERE id IN ({', '.join(['%s'] * len(unchanged_ids))})",
                    [self.spec.template[self.position["synced_at"]], *unchanged_ids],
                )
            counts.unchanged += len(unchanged_ids)
        if write:
            transaction.on_commit(counting.bump_mirror_version)

    def _copy_new(self, rows: list[Row]) -> dict[str, int]:
        """PostgreSQL: COPY rows new to the mirror into it; returns {uuid: id}."""
        if not rows:
            return {}
        table, column_list = self.table_sql, self.columns_sql
        with connection.cursor() as cursor:
            if self.sequence is None:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Lead._meta.db_table])
                (self.sequence,) = cursor.fetchone()
            cursor.execute(
                "SELECT nextval(%s) FROM generate_series(1, %s)", [self.sequence, len(rows)]
            )
            pks = [pk for (pk,) in cursor.fetchall()]
            with cursor.copy(f'COPY {table} ("id", {column_list}) FROM STDIN') as copy:
                copy.write(
                    "".join([f"{pk}\t{row.line}" for pk, row in zip(pks, rows, strict=True)])
                )
        return {row.uuid: pk for pk, row in zip(pks, rows, strict=True)}

    def _upsert(self, rows: list[Row]) -> dict[str, int]:
        """INSERT … ON CONFLICT (bot_id, uuid) DO UPDATE; returns {uuid: id}."""
        quote = connection.ops.quote_name
        table, column_list, conflict = self.table_sql, self.columns_sql, self.on_conflict_sql
        ids: dict[str, int] = {}
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                # COPY into a temporary table, then one INSERT … SELECT: a statement with a
                # placeholder per value costs psycopg more to build than the database to run.
                # Named after its columns: a process that outlives a migration of leads_lead
                # (a worker) makes a new one instead of using a stale one.
                digest = hashlib.sha256(column_list.encode()).hexdigest()[:12]
                temp = quote(f"{TEMP_TABLE}_{digest}")
                cursor.execute(
                    f"CREATE TEMPORARY TABLE IF NOT EXISTS {temp} ON COMMIT DELETE ROWS AS "
                    f"SELECT {column_list} FROM {table} WITH NO DATA"
                )
                if len(connection.atomic_blocks) > 1:  # in an outer transaction: no commit yet
                    cursor.execute(f"DELETE FROM {temp}")
                with cursor.copy(f"COPY {temp} ({column_list}) FROM STDIN") as copy:
                    copy.write("".join([row.line for row in rows]))
                cursor.execute(
                    f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM {temp} "
                    + conflict
                )
                ids.update((uuid, pk) for pk, uuid in cursor.fetchall())
            else:
                slots = "(" + ", ".join(["%s"] * len(self.columns)) + ")"
                chunk_size = max(1, SQLITE_MAX_PARAMS // len(self.columns))
                for start in range(0, len(rows), chunk_size):
                    chunk = rows[start : start + chunk_size]
                    cursor.execute(
                        f"INSERT INTO {table} ({column_list}) VALUES "
                        f"{', '.join([slots] * len(chunk))} {conflict}",
                        [value for row in chunk for value in row.values],
                    )
                    ids.update((uuid, pk) for pk, uuid in cursor.fetchall())
        return ids

    def _write_tags(self, retag: set[int], tags: list[tuple[int, str, str]]) -> None:
        quote = connection.ops.quote_name
        table = quote(LeadTag._meta.db_table)
        columns = f"{quote('lead_id')}, {quote('name')}, {quote('key')}"
        with connection.cursor() as cursor:
            if retag:
                cursor.execute(
                    f"DELETE FROM {table} WHERE {quote('lead_id')} IN "
                    f"({', '.join(['%s'] * len(retag))})",
                    list(retag),
                )
            if not tags:
                return
            if self.vendor == "postgresql":
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for tag in tags:
                        copy.write_row(tag)
            else:
                # One statement per chunk, not executemany: each statement lets other threads
                # take the GIL, and getting it back can take a switch interval.
                chunk_size = SQLITE_MAX_PARAMS // 3
                for start in range(0, len(tags), chunk_size):
                    chunk = tags[start : start + chunk_size]
                    cursor.execute(
                        f"INSERT INTO {table} ({columns}) VALUES "
                        + ", ".join(["(%s, %s, %s)"] * len(chunk)),
                        [value for tag in chunk for value in tag],
                    )


SQLITE_MAX_PARAMS = 30_000  # SQLite >= 3.32 allows 32,766 per statement


def _tags_changed(stored: object, tags: list[str]) -> bool:
    """Whether a row's tag list differs from the one stored (JSON text or a decoded list)."""
    if isinstance(stored, str):
        try:
            stored = json.loads(stored)
        except ValueError:
            return True
    return stored != tags


def _mark_missing(*, bot_id: str, kinds: tuple[str, ...], sync_time: datetime) -> int:
    """After a complete full listing: flag mirrored chats it did not list (never delete them)."""
    is_lead_values = [kind == "lead" for kind in kinds]
    counting.bump_mirror_version()
    return Lead.objects.filter(
        Q(synced_at__lt=sync_time) | Q(synced_at__isnull=True),
        bot_id=bot_id,
        is_lead__in=is_lead_values,
        missing_since__isnull=True,
    ).update(missing_since=timezone.now())


def _finish(
    run: SyncRun,
    counts: _Counts,
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


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or error.__class__.__name__
