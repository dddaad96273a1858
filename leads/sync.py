"""Mirror BotPenguin chats into `Lead` rows.

The listing is paged by number only, with no total and no documented order (the sandbox and, as far
as anyone can tell, BotPenguin list newest `updatedAt` first). So:

* pages are fetched a few at a time in worker threads (HTTP only; the database is written from the
  calling thread alone), in a sliding window, and consumed strictly in page order;
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
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from leads import counting
from leads.botpenguin.client import BotPenguinClient
from leads.botpenguin.errors import BotPenguinError
from leads.botpenguin.records import ChatRecord, ParseError, parse_chat
from leads.config import get_account, get_client
from leads.models import EDITABLE_FIELDS, Lead, LeadTag, SyncRun

logger = logging.getLogger(__name__)

KINDS = ("lead", "non-lead")
BATCH_SIZE = 500
MAX_CONCURRENCY = 16

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
) -> SyncRun:
    """Run one sync and return its SyncRun. Raises SyncError (recorded on the run) on failure."""
    kinds = tuple(kinds)
    if not kinds or any(k not in KINDS for k in kinds):
        raise ValueError(f"kinds must be taken from {KINDS}")
    concurrency = max(1, min(int(concurrency), MAX_CONCURRENCY))
    kind_label = kinds[0] if len(kinds) == 1 else "all"
    if run is None:
        run = SyncRun.objects.create(kind=kind_label, full=full)
    else:
        SyncRun.objects.filter(pk=run.pk).update(kind=kind_label, full=full)
        run.refresh_from_db()
    counts = _Counts()
    sync_time = timezone.now()
    own_client = client is None
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
            )
        marked = 0
        if full:
            marked = _mark_missing(bot_id=account.bot_id, kinds=kinds, sync_time=sync_time)
    except BotPenguinError as e:
        _finish(run, counts, error=_one_line(e))
        logger.warning("Sync %s failed: %s", run.pk, _one_line(e))
        raise SyncError(_one_line(e), run) from e
    finally:
        if own_client and client is not None:
            client.close()
    # Keep the previous marks for kinds this run saw no dated chat of.
    marks = {k: v for k, v in counts.marks.items()}
    for kind in kinds:
        if kind not in marks and (previous := last_mark(kind)):
            marks[kind] = previous.isoformat()
    _finish(run, counts, marks=marks, marked_missing=marked)
    logger.info("Sync %s: %s", run.pk, run.summary())
    return run


def last_mark(kind: str) -> datetime | None:
    """The newest updatedAt the last successful sync of `kind` saw."""
    runs = SyncRun.objects.filter(state=SyncRun.State.SUCCEEDED).only("marks")
    for run in runs.order_by("-started_at", "-id")[:20]:
        if value := (run.marks or {}).get(kind):
            parsed = datetime.fromisoformat(value)
            return parsed
    return None


# --- listing ------------------------------------------------------------------------------------


def iter_pages(client: BotPenguinClient, kind: str, concurrency: int) -> Iterator[tuple[int, list]]:
    """Yield (page number, raw chats) in page order, fetching up to `concurrency` pages at once.

    Stops after the first empty page. Closing the generator early (incremental stop) cancels the
    pages not yet started; a page already in flight finishes in its thread and is dropped.
    """
    executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"sync-{kind}")
    pending: dict[int, Future] = {}
    next_page = 1
    try:
        for _ in range(concurrency):
            pending[next_page] = executor.submit(client.list_chats, next_page, kind)
            next_page += 1
        page = 1
        while True:
            data = pending.pop(page).result()  # re-raises the client's own errors
            yield page, data
            if not data:
                return
            pending[next_page] = executor.submit(client.list_chats, next_page, kind)
            next_page += 1
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
) -> None:
    is_lead = kind == "lead"
    batch: dict[str, ChatRecord] = {}
    seen: dict[str, datetime | None] = {}
    newest: datetime | None = None
    flush = partial(
        _flush, batch, bot_id=bot_id, customer_id=customer_id, is_lead=is_lead,
        sync_time=sync_time, counts=counts,
    )  # fmt: skip
    pages = iter_pages(client, kind, concurrency)
    try:
        for _page_no, data in pages:
            if not data:
                break
            counts.pages += 1
            counts.chats += len(data)
            all_older = mark is not None
            for raw in data:
                try:
                    record = parse_chat(raw)
                except ParseError as e:
                    counts.skipped += 1
                    logger.info("Skipped a chat that could not be parsed: %s", e)
                    continue
                if len(record.uuid) > 255:
                    counts.skipped += 1
                    continue
                updated = record.updated_at
                if updated is not None and (newest is None or updated > newest):
                    newest = updated
                if mark is not None and (updated is None or updated >= mark):
                    all_older = False
                if record.uuid in seen:
                    # Listed again: the listing shifted. Keep the newer version.
                    before = seen[record.uuid]
                    if before is not None and (updated is None or updated <= before):
                        continue
                seen[record.uuid] = updated
                batch[record.uuid] = record
            if len(batch) >= BATCH_SIZE:
                flush()
                _report(run, counts, progress)
            elif progress:
                progress(counts.pages, counts.chats)
            if all_older:
                break  # this page was the overlap
        flush()
        _report(run, counts, progress)
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


def _report(run: SyncRun, counts: _Counts, progress: ProgressCallback | None) -> None:
    SyncRun.objects.filter(pk=run.pk).update(
        progress={"pages": counts.pages, "chats": counts.chats}
    )
    if progress:
        progress(counts.pages, counts.chats)


# --- writing ------------------------------------------------------------------------------------


def _clip(value: str, limit: int) -> str:
    return value[:limit] if len(value) > limit else value


def _raw_json(raw: object, is_lead: bool) -> tuple[str, str]:
    """The raw chat as stored (JSON text, keys sorted, NULs dropped: PostgreSQL refuses them)
    and its hash, which tells an unchanged chat from a changed one."""
    payload = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
    payload = payload.replace("\\u0000", "")
    digest = hashlib.sha256(f"{int(is_lead)}{payload}".encode("utf-8", "surrogatepass"))
    return payload, digest.hexdigest()


def lead_fields_from_record(record: ChatRecord, *, is_lead: bool) -> dict:
    """The Lead column values for a parsed chat, clipped to the columns' sizes."""
    return {
        "remote_id": _clip(record.remote_id, 255),
        "is_lead": is_lead,
        "name": _clip(record.name, 1000),
        "email": _clip(record.email, 1000),
        "phone": _clip(record.phone, 1000),
        "dial_code": record.dial_code if len(record.dial_code) <= 16 else "",
        "picture": record.picture,
        "status": record.status,
        "agent_id": _clip(record.agent_id, 255),
        "tags": [_clip(t, 255) for t in record.tags],
        "notes": record.notes,
        "attributes": record.attributes,
        "city": _clip(record.city, 1000),
        "country": _clip(record.country, 1000),
        "gender": _clip(record.gender, 1000),
        "last_message_at": record.last_message_at,
        "last_message_by": _clip(record.last_message_by, 255),
        "last_message_text": record.last_message_text,
        "last_seen_at": record.last_seen_at,
        "is_online": record.is_online,
        "website_visits": max(0, min(record.website_visits, 2_000_000_000)),
        "remote_created_at": record.created_at,
        "remote_updated_at": record.updated_at,
    }


def tag_rows(lead_id: int, tags: Iterable[str]) -> list[LeadTag]:
    rows: dict[str, LeadTag] = {}
    for tag in tags:
        key = tag.casefold()[:255]
        if key and key not in rows:
            rows[key] = LeadTag(lead_id=lead_id, name=tag[:255], key=key)
    return list(rows.values())


def _flush(
    batch: dict[str, ChatRecord],
    *,
    bot_id: str,
    customer_id: str,
    is_lead: bool,
    sync_time: datetime,
    counts: _Counts,
) -> None:
    """Upsert one batch in one short transaction, then empty it."""
    if not batch:
        return
    records = list(batch.values())
    batch.clear()
    with transaction.atomic():
        # Row locks (PostgreSQL) so that an edit cannot slip in between this read and the
        # write; SQLite's IMMEDIATE transaction already holds the write lock.
        existing = {
            uuid: (pk, raw_hash, version)
            for uuid, pk, raw_hash, version in Lead.objects.select_for_update()
            .filter(bot_id=bot_id, uuid__in=[r.uuid for r in records])
            .values_list("uuid", "id", "raw_hash", "version")
        }
        # Fields with an undelivered edit keep the edited value until it is delivered.
        pending = {
            lead.uuid: lead
            for lead in Lead.objects.filter(
                bot_id=bot_id, uuid__in=list(existing), change_state__in=["pending", "failed"]
            )
        }
        rows: list[dict] = []
        unchanged_ids: list[int] = []
        retag: list[int] = []
        for record in records:
            raw_text, raw_hash = _raw_json(record.raw, is_lead)
            known = existing.get(record.uuid)
            if known and known[1] == raw_hash:
                unchanged_ids.append(known[0])
                continue
            fields = lead_fields_from_record(record, is_lead=is_lead)
            if held := pending.get(record.uuid):
                for name in held.pending_fields:
                    fields[name] = getattr(held, name)
            rows.append(
                {
                    **fields,
                    "bot_id": bot_id,
                    "customer_id": customer_id,
                    "uuid": record.uuid,
                    "raw": raw_text,
                    "raw_hash": raw_hash,
                    "synced_at": sync_time,
                    "missing_since": None,
                    "version": (known[2] + 1) if known else 1,
                }
            )
            if known:
                counts.updated += 1
                retag.append(known[0])
            else:
                counts.created += 1
        if rows:
            ids = _upsert(rows)
            if retag:
                LeadTag.objects.filter(lead_id__in=retag).delete()
            LeadTag.objects.bulk_create(
                [tag for row in rows for tag in tag_rows(ids[row["uuid"]], row["tags"])],
                batch_size=1000,
            )
        if unchanged_ids:
            Lead.objects.filter(id__in=unchanged_ids).update(
                synced_at=sync_time, missing_since=None
            )
            counts.unchanged += len(unchanged_ids)
        if rows:
            transaction.on_commit(counting.bump_mirror_version)


JSON_COLUMNS = frozenset({"tags", "notes", "attributes", "raw", "pending_fields"})
UPSERT_CHUNK = 400


def _upsert(rows: list[dict]) -> dict[str, int]:
    """INSERT … ON CONFLICT (bot_id, uuid) DO UPDATE in chunks; returns {uuid: id}.

    Written out rather than through bulk_create(update_conflicts=True): the ORM prepares every
    value through its compiler, which was most of a sync's time. Values are prepared here: JSON
    columns as JSON text (already made for `raw`), datetimes by the backend's own adapter.
    """
    # Every column on insert (fields a sync does not own take their model defaults), only the
    # synced ones on update.
    defaults = {f.attname: f.get_default() for f in Lead._meta.concrete_fields if not f.primary_key}
    columns = list(defaults)
    quote = connection.ops.quote_name
    json_slot = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    slots = "(" + ", ".join(json_slot if c in JSON_COLUMNS else "%s" for c in columns) + ")"
    updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in SYNCED_FIELDS)
    adapt_dt = connection.ops.adapt_datetimefield_value
    datetime_columns = {
        f.attname for f in Lead._meta.concrete_fields if f.get_internal_type() == "DateTimeField"
    }
    ids: dict[str, int] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(rows), UPSERT_CHUNK):
            chunk = rows[start : start + UPSERT_CHUNK]
            params: list = []
            for row in chunk:
                for column in columns:
                    value = row[column] if column in row else defaults[column]
                    if column in JSON_COLUMNS and column != "raw":
                        value = json.dumps(value, ensure_ascii=False)
                    elif column in datetime_columns and value is not None:
                        value = adapt_dt(value)
                    params.append(value)
            cursor.execute(
                f"INSERT INTO {quote(Lead._meta.db_table)} "
                f"({', '.join(quote(c) for c in columns)}) VALUES {', '.join([slots] * len(chunk))} "
                f"ON CONFLICT ({quote('bot_id')}, {quote('uuid')}) DO UPDATE SET {updates} "
                f"RETURNING {quote('id')}, {quote('uuid')}",
                params,
            )
            ids.update((uuid, pk) for pk, uuid in cursor.fetchall())
    return ids


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
