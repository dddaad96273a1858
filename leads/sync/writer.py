"""Writing a batch of rows into the mirror, inside the caller's transaction.

A batch reads its existing rows first, locked (PostgreSQL `FOR UPDATE`; SQLite's IMMEDIATE
transaction already holds the write lock), so that no edit slips in between that read and the
write. Then:

* a chat whose hash is unchanged is not rewritten: only `synced_at` is set and `missing_since`
  cleared; so is a chat listed under the other kind than the row's with an older `updatedAt`
  (a uuid listed as lead and non-lead keeps its newer version, whichever listing is read last);
* a new or changed chat is upserted, its `version` one up when it changed; fields with an
  undelivered edit (`pending_fields` while `change_state` is pending or failed) keep the edited
  value until the edit is delivered;
* a row's LeadTag rows are written again only when its tags changed;
* a row whose hash a delivered edit reset (leads.delivery) is rewritten with BotPenguin's values,
  and its delivered edits are checked once: a field BotPenguin still lists with the value from
  before the edit marks the edit `not_kept` and the lead's badge too. Only those rows cost a
  query. An edit delivered after the sync started may postdate the listing: its values are kept
  and the hash stays reset, so the next sync checks it.

One write path per database: SQLite takes multi-row INSERTs (… ON CONFLICT … RETURNING for the
leads), PostgreSQL takes COPY (for the leads into a temporary table, then one INSERT … SELECT …
ON CONFLICT … RETURNING): a statement with a placeholder per value costs psycopg more to build
than PostgreSQL to run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from django.db import connection, models, transaction
from django.utils import timezone

from leads import rollup
from leads.models import EDITABLE_FIELDS, Lead, LeadChange, LeadTag, tag_rows
from leads.selectors import counting
from leads.sync.rows import Row
from leads.sync.sql import chunks, copy_rows, insert_rows, write_rows
from leads.sync.transitions import Transitions

# Rows a batch writes in one transaction at most, whatever a page holds: SQLite's write lock (and
# a person's edit waiting for it) lasts a batch, PostgreSQL holds the batch's row locks as long.
BATCH_SIZE = {"sqlite": 500, "postgresql": 500}
NOT_KEPT_MESSAGE = "BotPenguin did not keep this edit"

# Fields a sync writes over an existing row (besides the keys, bot_id and uuid).
SYNCED_FIELDS = (
    *EDITABLE_FIELDS,
    *("remote_id", "is_lead", "city", "country", "gender", "last_message_at"),
    *("last_message_by", "last_message_text", "last_seen_at", "is_online", "website_visits"),
    *("remote_created_at", "remote_updated_at", "raw", "raw_hash", "synced_at"),
    *("missing_since", "version", "waiting_since"),
)


@dataclass
class BatchResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class Known(NamedTuple):
    """What a batch reads of a row already in the mirror."""

    id: int
    raw_hash: str
    change_state: str
    tags: list
    is_lead: bool
    remote_updated_at: datetime | None
    status: str


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


class LeadColumns:
    """Every Lead column in one order, and each row's values as the database takes them: JSON as
    text, datetimes as the backend stores them. A new row gets every column (the ones a sync
    does not own take their model defaults); an existing one only SYNCED_FIELDS."""

    def __init__(self, *, bot_id: int, sync_time: datetime):
        self.bot_id = bot_id
        self.sync_time = sync_time
        fields = [f for f in Lead._meta.concrete_fields if not f.primary_key]
        self.columns = tuple(f.attname for f in fields)
        self.adapters: dict[str, Callable[[Any], Any]] = {}
        for f in fields:
            if isinstance(f, models.JSONField):
                self.adapters[f.attname] = _json_text
            elif isinstance(f, models.DateTimeField):
                self.adapters[f.attname] = connection.ops.adapt_datetimefield_value
        defaults = {f.attname: f.get_default() for f in fields}
        defaults.update(bot_id=bot_id, synced_at=sync_time, missing_since=None)
        self.template = self.adapted(defaults)
        self.template["version"] = 1  # a new row; an existing one's goes one up in the upsert

    def adapted(self, values: dict) -> dict:
        adapters = self.adapters
        return {
            name: value if (adapt := adapters.get(name)) is None or value is None else adapt(value)
            for name, value in values.items()
        }

    def values(self, row: Row) -> tuple:
        values = self.template | self.adapted(row.fields)
        values.update(uuid=row.uuid, raw=row.raw, raw_hash=row.raw_hash)
        values["waiting_since"] = values[waiting_field(row.fields["status"])]
        return tuple([values[name] for name in self.columns])


def waiting_field(status: str) -> str:
    """What a new lead waits since: its arrival while it is Open (or has no status), else its
    updatedAt, the latest its status can have been set."""
    return "remote_created_at" if status in ("OPEN", "") else "remote_updated_at"


def write_batch(columns: LeadColumns, rows: Sequence[Row]) -> BatchResult:
    """Upsert one batch in the current transaction (see the module's docstring)."""
    if connection.vendor == "postgresql":
        # A batch's commit does not wait for its WAL flush. Safe: WAL is written in order, so
        # the run's final record (a normal commit) is durable only after every batch before
        # it, and a batch lost to a crash is read again by the next sync.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
    existing = _lock_existing(columns.bot_id, [row.uuid for row in rows])
    held = _held_values(existing)
    check = Reconciliation(existing, columns.sync_time)
    transitions = Transitions(bot_id=columns.bot_id, sync_time=columns.sync_time)
    changed: list[Row] = []
    unchanged_ids: list[int] = []
    for row in rows:
        known = existing.get(row.uuid)
        if known is not None and (known.raw_hash == row.raw_hash or _other_kind_newer(known, row)):
            unchanged_ids.append(known.id)
        else:
            edited = held.get(row.uuid, {})
            if known is not None and known.id in check.changes:
                check.row(known, row, edited)
            row.fields.update(edited)
            changed.append(row)
            if known is not None:
                transitions.seen(known.id, known.status, row)
    check.record()
    if changed:
        ids = _upsert(columns, changed)
        _write_tags(changed, existing, ids)
        transitions.write(new_ids=[ids[row.uuid] for row in changed if row.uuid not in existing])
        _mark_insights_days(columns, changed, existing)
        transaction.on_commit(counting.bump_mirror_version)
    for ids in chunks(unchanged_ids):
        Lead.objects.filter(pk__in=ids).update(synced_at=columns.sync_time, missing_since=None)
    created = sum(1 for row in changed if row.uuid not in existing)
    return BatchResult(created, len(changed) - created, len(unchanged_ids))


def _mark_insights_days(columns: LeadColumns, rows: list[Row], existing: dict[str, Known]) -> None:
    """The insights' days these rows count on are dirty (leads.rollup): a known lead's are read
    from its history; a new one's are its arrival, its waiting's start and its starting point,
    all in its row, so a first sync reads nothing back for them."""
    rollup.touch([existing[row.uuid].id for row in rows if row.uuid in existing])
    moments = []
    for row in rows:
        if row.uuid not in existing:
            created, updated = row.fields["remote_created_at"], row.fields["remote_updated_at"]
            waiting = row.fields[waiting_field(row.fields["status"])]
            # Its starting point's moment, as transitions dates it.
            moments += [created, waiting, created or updated or columns.sync_time]
    rollup.mark(rollup.days_of(columns.bot_id, moments))


def _other_kind_newer(known: Known, row: Row) -> bool:
    """Whether the row is stored under the other kind with a newer updatedAt than `row`'s."""
    if known.is_lead == row.fields["is_lead"] or known.remote_updated_at is None:
        return False
    return row.updated_at is None or row.updated_at < known.remote_updated_at


def _lock_existing(bot_id: int, uuids: list[str]) -> dict[str, Known]:
    existing = {}
    for part in chunks(uuids):
        rows = (
            Lead.objects.select_for_update()
            .filter(bot_id=bot_id, uuid__in=part)
            .order_by()
            .values_list(
                *("uuid", "id", "raw_hash", "change_state", "tags", "is_lead"),
                *("remote_updated_at", "status"),
            )
        )
        existing.update((uuid, Known(*rest)) for uuid, *rest in rows)
    return existing


def _held_values(existing: dict[str, Known]) -> dict[str, dict]:
    """{uuid: {field: edited value}} for the rows with undelivered edits."""
    held_ids = [
        known.id for known in existing.values() if known.change_state in LeadChange.OPEN_STATES
    ]
    held = {}
    for ids in chunks(held_ids):
        leads = Lead.objects.filter(pk__in=ids).only("uuid", "pending_fields", *EDITABLE_FIELDS)
        held.update(
            (lead.uuid, {n: getattr(lead, n) for n in lead.pending_fields if n in EDITABLE_FIELDS})
            for lead in leads
        )
    return held


class Reconciliation:
    """The delivered edits of a batch's rows whose hash a delivery reset, checked against what
    BotPenguin lists (see the module's docstring)."""

    def __init__(self, existing: dict[str, Known], sync_time: datetime):
        self.sync_time = sync_time
        self.changes: dict[int, list[LeadChange]] = {}
        self.verified: list[int] = []
        self.not_kept: list[int] = []
        self.not_kept_leads: list[int] = []
        reset = [known.id for known in existing.values() if known.raw_hash == ""]
        for ids in chunks(reset):
            unverified = LeadChange.objects.filter(
                lead_id__in=ids, state=LeadChange.State.DELIVERED, verified_at__isnull=True
            ).only("lead_id", "before", "after", "delivered_at")
            for change in unverified.order_by("-id"):
                self.changes.setdefault(change.lead_id, []).append(change)

    def row(self, known: Known, row: Row, held: dict) -> None:
        """Check the lead's delivered edits (newest first, each on the fields no newer edit
        or pending one owns) against the listed row, before held values go into it. Called only
        for a lead in `changes`: the others, nearly every row, cost nothing."""
        owned = set(held)
        kept = True
        for change in self.changes[known.id]:
            fields = [name for name in change.after if name not in owned]
            owned.update(change.after)
            if change.delivered_at is not None and change.delivered_at > self.sync_time:
                # The listing may predate this PUT: keep its values, look again next sync.
                row.fields.update((name, change.after[name]) for name in fields)
                row.raw_hash = ""
                continue
            lost = any(
                row.fields.get(name) == change.before.get(name)
                and row.fields.get(name) != change.after[name]
                for name in fields
            )
            (self.not_kept if lost else self.verified).append(change.pk)
            kept = kept and not lost
        if not kept and known.change_state not in LeadChange.OPEN_STATES:
            self.not_kept_leads.append(known.id)

    def record(self) -> None:
        if not (self.verified or self.not_kept):
            return
        now = timezone.now()
        for ids in chunks(self.verified):
            LeadChange.objects.filter(pk__in=ids).update(verified_at=now)
        for ids in chunks(self.not_kept):
            LeadChange.objects.filter(pk__in=ids).update(
                state=LeadChange.State.NOT_KEPT, verified_at=now, last_error=NOT_KEPT_MESSAGE
            )
        for ids in chunks(self.not_kept_leads):
            Lead.objects.filter(pk__in=ids).update(change_state=LeadChange.State.NOT_KEPT)


def _upsert(columns: LeadColumns, rows: list[Row]) -> dict[str, int]:
    """INSERT … ON CONFLICT (uuid, bot_id) DO UPDATE the rows; returns {uuid: id}."""
    quote = connection.ops.quote_name
    table = quote(Lead._meta.db_table)
    names = ", ".join(quote(name) for name in columns.columns)
    updates = ", ".join(f"{quote(name)} = {_updated(table, name)}" for name in SYNCED_FIELDS)
    on_conflict = (
        f"ON CONFLICT ({quote('uuid')}, {quote('bot_id')}) DO UPDATE SET {updates} "
        f"RETURNING {quote('id')}, {quote('uuid')}"
    )
    values = [columns.values(row) for row in rows]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Named after its columns: a process that outlives a migration of the table (a
            # worker) makes a new one rather than use a stale one.
            temp = quote("sync_rows_" + hashlib.sha256(names.encode()).hexdigest()[:12])
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {temp} ON COMMIT DELETE ROWS AS "  # noqa: S608 - constant identifiers
                f"SELECT {names} FROM {table} WITH NO DATA"
            )
            # Emptied here too: inside an outer transaction nothing commits between batches.
            cursor.execute(f"DELETE FROM {temp}")  # noqa: S608 - a constant identifier
            copy_rows(cursor, temp, names, values)
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT {names} FROM {temp} "  # noqa: S608 - constant identifiers
                + on_conflict
            )
            returned = cursor.fetchall()
        else:
            returned = insert_rows(cursor, table, names, values, on_conflict)
    return {uuid: pk for pk, uuid in returned}


def _updated(table: str, name: str) -> str:
    """What an upsert sets a column of an existing row to."""
    quote = connection.ops.quote_name
    column = quote(name)
    if name == "version":
        return f"{table}.{column} + 1"
    if name == "waiting_since":
        # A lead waits since its status last changed: when the sync sees a new status, since
        # the chat's updatedAt (the latest it can have changed); otherwise as it was.
        status = quote("status")
        updated = quote("remote_updated_at")
        return (
            f"CASE WHEN {table}.{status} <> excluded.{status} "
            f"THEN COALESCE(excluded.{updated}, excluded.{column}) "
            f"ELSE COALESCE({table}.{column}, excluded.{column}) END"
        )
    return f"excluded.{column}"


def _write_tags(rows: list[Row], existing: dict[str, Known], ids: dict[str, int]) -> None:
    """LeadTag rows for the new rows, and again for the rows whose tags changed."""
    retag = [
        known.id
        for row in rows
        if (known := existing.get(row.uuid)) is not None and known.tags != row.fields["tags"]
    ]
    for part in chunks(retag):
        LeadTag.objects.filter(lead_id__in=part).delete()
    retagged = set(retag)
    tags = [
        (tag.lead_id, tag.name, tag.key)
        for row in rows
        if row.uuid not in existing or ids[row.uuid] in retagged
        for tag in tag_rows(ids[row.uuid], row.fields["tags"])
    ]
    quote = connection.ops.quote_name
    names = ", ".join(quote(name) for name in ("lead_id", "name", "key"))
    write_rows(quote(LeadTag._meta.db_table), names, tags)


SQLITE_CHECKPOINT_PAGES = 16_000  # ~64 MB of WAL between checkpoints during a sync


@contextmanager
def deferred_checkpoints() -> Iterator[None]:
    """SQLite: while a sync writes, checkpoint the WAL every ~64 MB instead of every 4 MB.

    A checkpoint copies every page changed since the last one into the database file; the random
    uuids and search trigrams a batch adds touch pages all over the indexes, so with frequent
    checkpoints the same pages were written again and again. Same durability: in WAL mode with
    synchronous=NORMAL a commit is not synced either way."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA wal_autocheckpoint = {int(SQLITE_CHECKPOINT_PAGES)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint = {int(previous)}")
