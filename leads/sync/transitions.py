"""The status history a sync writes (leads.models.StatusChange): a new chat's starting point,
and a status BotPenguin lists that differs from the mirror's.

A new chat starts at the status it is listed with, dated when it arrived. A changed status is
dated by the chat's updatedAt, the latest moment it can have changed. A field held by an
undelivered edit is not BotPenguin's news: the writer has already put the edited value back
into the row, so it shows no change."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection

from leads.models import StatusChange
from leads.sync.rows import Row
from leads.sync.sql import write_rows

COLUMNS = ("lead_id", "bot_id", "from_status", "to_status", "at", "source")


class Transitions:
    """One batch's status history, collected while the batch is compared, written after it."""

    def __init__(self, *, bot_id: int, sync_time: datetime):
        self.bot_id = bot_id
        self.sync_time = sync_time
        self.changed: list[tuple[int, str, Row]] = []
        self.new_ids: set[int] = set()

    def seen(self, lead_id: int, status: str, row: Row) -> None:
        """An existing lead's row as it will be written: a transition if its status differs."""
        if row.fields["status"] != status:
            self.changed.append((lead_id, status, row))

    def started(self, lead_ids: Iterable[int]) -> None:
        self.new_ids.update(lead_ids)

    def write(self, rows: list[Row], ids: dict[str, int]) -> None:
        adapt = connection.ops.adapt_datetimefield_value
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
        if self.new_ids:
            for row in rows:
                if (lead_id := ids[row.uuid]) in self.new_ids:
                    when = row.fields["remote_created_at"] or self._when(row)
                    history.append(
                        (lead_id, self.bot_id, "", row.fields["status"], adapt(when), "start")
                    )
        quote = connection.ops.quote_name
        write_rows(
            quote(StatusChange._meta.db_table),
            ", ".join(quote(name) for name in COLUMNS),
            history,
        )

    def _when(self, row: Row) -> datetime:
        return row.updated_at or self.sync_time
