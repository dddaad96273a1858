"""One edit applied to many leads (the list's bulk actions)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from leads.accounts.permissions import TRIAGE, require_service
from leads.botpenguin.records import STATUSES
from leads.models import Lead
from leads.selectors.bots import visibility
from leads.services.edits import (
    EditFailed,
    User,
    adding_tag,
    apply_edit,
    is_pending,
    removing_tag,
)


@dataclass
class BulkResult:
    changed: list[Lead] = field(default_factory=list)
    pending: list[Lead] = field(default_factory=list)
    unchanged: list[Lead] = field(default_factory=list)
    failed: list[tuple[Lead, str]] = field(default_factory=list)
    change_ids: list[int] = field(default_factory=list)  # what an undo puts back

    @property
    def summary(self) -> str:
        parts = [f"{len(self.changed) + len(self.pending)} changed"]
        if self.pending:
            parts.append(f"{len(self.pending)} waiting to be sent to BotPenguin")
        if self.unchanged:
            parts.append(f"{len(self.unchanged)} already so")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        return ", ".join(parts)


def leads_bulk_set_status(*, leads: QuerySet[Lead], status: str, user: User) -> BulkResult:
    if status not in STATUSES:
        raise ValueError(f"Unknown status {status!r}")
    return _bulk(leads, user, "status", lambda current: {"status": status})


def leads_bulk_add_tag(*, leads: QuerySet[Lead], tag: str, user: User) -> BulkResult:
    return _bulk(leads, user, "tags", adding_tag(tag))


def leads_bulk_remove_tag(*, leads: QuerySet[Lead], tag: str, user: User) -> BulkResult:
    return _bulk(leads, user, "tags", removing_tag(tag))


def _bulk(
    leads: QuerySet[Lead], user: User, action: str, changes: Callable[[Lead], dict[str, Any]]
) -> BulkResult:
    """Apply to each lead's current values. The first BULK_SEND_NOW edits are sent while the
    person waits; the rest (and all of them once BotPenguin proves unreachable) are queued for the
    worker, so a bulk action on thousands of leads answers in seconds, not minutes."""
    require_service(user, TRIAGE)
    if user is not None:
        leads = visibility(user).scope.apply(leads)  # whatever the caller chose
    result = BulkResult()
    try_now = True
    send_now = settings.BULK_SEND_NOW
    for index, lead in enumerate(leads.order_by("pk").iterator(chunk_size=200)):
        if index >= send_now:
            try_now = False
        try:
            change = apply_edit(
                lead=lead, user=user, action=action, changes=changes, try_now=try_now
            )
        except EditFailed as e:
            result.failed.append((lead, e.message))
            continue
        if change is not None:
            result.change_ids.append(change.pk)
        if change is None:
            result.unchanged.append(lead)
        elif is_pending(change):
            result.pending.append(lead)
            try_now = False
        else:
            result.changed.append(lead)
    return result
