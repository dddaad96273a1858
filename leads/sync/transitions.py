"""The status history a sync writes (leads.models.StatusChange): a new chat's starting point,
and a status BotPenguin lists that differs from the mirror's.

A new chat starts at the status it is listed with, dated when it arrived. A changed status is
dated by the chat's updatedAt, the latest moment it can have changed. A field held by an
undelivered edit is not BotPenguin's news: the writer has already put the edited value back
into the row, so it shows no change."""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from leads.models import Lead, StatusChange
from leads.sync.rows import Row
from leads.sync.sql import chunks, write_rows

COLUMNS = ("lead_id", "bot_id", "from_status", "to_status", "at", "source")


class Transitions:
    """One batch's status history, collected while the batch is compared, written after it."""

    def __init__(self, *, bot_id: int, sync_time: datetime):
        self.bot_id = bot_id
        self.sync_time = sync_time
        self.changed: list[tuple[int, str, Row]] = []

    def seen(self, lead_id: int, status: str, row: Row) -> None:
        """An existing lead's row as it will be written: a transition if its status differs."""
        if row.fields["status"] != status:
            self.changed.append((lead_id, status, row))

    def write(self, *, new_ids: list[int]) -> None:
        """The transitions seen, and the starting points of the new leads `new_ids`."""
        adapt = connection.ops.adapt_datetimefield_value
        quote = connection.ops.quote_name
        table = quote(StatusChange._meta.db_table)
        history = [
            (
                lead_id,
                self.bot_id,
                before,
                row.fields["status"],
                adapt(self._when(row)),
                "botpenguin",
            )
            for lead_id, before, row in self.changed
        ]
        write_rows(table, ", ".join(quote(name) for name in COLUMNS), history)
        # The new leads' starting points straight from their rows, in the database: a first
        # sync starts as many histories as it writes leads.
        self._start(table, new_ids)

    def _start(self, table: str, lead_ids: list[int]) -> None:
        quote = connection.ops.quote_name
        names = ", ".join(quote(name) for name in COLUMNS)
        leads = quote(Lead._meta.db_table)
        arrived = "COALESCE(remote_created_at, remote_updated_at, synced_at)"
        with connection.cursor() as cursor:
            for part in chunks(lead_ids):
                cursor.execute(
                    f"INSERT INTO {table} ({names}) "  # noqa: S608 - constant identifiers
                    f"SELECT id, bot_id, '', status, {arrived}, 'start' FROM {leads} "
                    f"WHERE id IN ({', '.join(['%s'] * len(part))})",
                    part,
                )

    def _when(self, row: Row) -> datetime:
        return row.updated_at or self.sync_time
