"""Every write to a lead: one function per user action, keyword-only typed arguments.

An edit is never lost. Each one is first written as a `LeadChange` (pending) in the same short
transaction that applies it to the mirror and marks the fields pending; then the PUT is tried at
once with a short timeout (`leads.delivery`), outside any transaction:

* accepted: the change is delivered;
* BotPenguin unreachable (timeout, connection, 5xx, 429): the change stays pending, the person is
  told "Saved — will be sent to BotPenguin when it is reachable", and the worker retries it;
* refused (400, 401) right away, while the person is there: the mirror is put back, the change
  is discarded with the reason, and `EditFailed` carries the message to show on the form.

API semantics (API.md): fields absent from the body are left unchanged, arrays present replace the
stored array. So adding a note sends every existing note plus the new one, and a tag edit sends the
whole new list. Set-type edits (status, contact fields) may carry the lead `version` the person's
form was based on: if the lead changed since, `EditConflict` lets the person choose.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from leads.accounts.permissions import EDIT_CONTACT, RESOLVE, SYNC, TRIAGE, require_service
from leads.botpenguin.errors import ConfigurationError
from leads.botpenguin.records import STATUSES, ParseError, build_put_body, parse_chat
from leads.config import check_configured
from leads.models import EDITABLE_FIELDS, Lead, LeadChange, LeadTag, SyncRun
from leads.selectors import counting
from leads.services import delivery
from leads.sync.rows import lead_fields_from_record
from leads.sync.run import tag_rows, take_sync_lease

logger = logging.getLogger(__name__)

SAVED_PENDING = "Saved — will be sent to BotPenguin when it is reachable."

User = AbstractBaseUser | AnonymousUser | None  # None: the system itself (commands, worker)

# Any edit needs the triage permission; one that changes any other field (contact details,
# picture, agent, attributes) needs contact rights too, whichever service or form it came from.
TRIAGE_FIELDS = {"status", "notes", "tags"}


class EditFailed(Exception):
    """BotPenguin refused an edit; the mirror was put back. `message` is fit to show a person."""

    def __init__(self, message: str, *, change: LeadChange | None = None):
        super().__init__(message)
        self.message = message
        self.change = change


class EditConflict(Exception):
    """The lead changed since the person's form was rendered; nothing was changed.

    `current` holds the lead's values now and `yours` what the person asked for, field by field,
    so the page can show them side by side; `version` is the version to resubmit with.
    """

    def __init__(self, *, lead: Lead, yours: dict[str, Any]):
        self.lead = lead
        self.yours = yours
        self.current = {name: getattr(lead, name) for name in yours}
        self.version = lead.version
        super().__init__("This lead changed since you opened it.")


def is_pending(change: LeadChange | None) -> bool:
    return change is not None and change.state == LeadChange.State.PENDING


# --- one function per user action ----------------------------------------------------------------


def lead_set_status(
    *, lead: Lead, status: str, user: User, base_version: int | None = None
) -> LeadChange | None:
    if status not in STATUSES:
        raise ValueError(f"Unknown status {status!r}")
    return _apply(
        lead=lead, user=user, action="status", changes={"status": status},
        base_version=base_version,
    )  # fmt: skip


def lead_add_note(*, lead: Lead, title: str, description: str, user: User) -> LeadChange | None:
    """Appends to the current notes (no conflict possible: the API keeps every note sent)."""

    def changes(current: Lead) -> dict:
        new = {"id": "", "title": title.strip(), "description": description.strip()}
        return {"notes": [dict(n) for n in current.notes] + [new]}

    return _apply(lead=lead, user=user, action="note", changes=changes)


def lead_add_tag(*, lead: Lead, tag: str, user: User) -> LeadChange | None:
    """Adds to the current tags, whatever changed since the page was shown."""
    return _apply(
        lead=lead, user=user, action="tags",
        changes=lambda current: {"tags": _dedupe_tags([*current.tags, tag])},
    )  # fmt: skip


def lead_remove_tag(*, lead: Lead, tag: str, user: User) -> LeadChange | None:
    key = tag.strip().casefold()
    return _apply(
        lead=lead, user=user, action="tags",
        changes=lambda current: {"tags": [t for t in current.tags if t.casefold() != key]},
    )  # fmt: skip


def lead_update_contact(
    *,
    lead: Lead,
    user: User,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    dial_code: str | None = None,
    picture: str | None = None,
    agent_id: str | None = None,
    attributes: list[dict[str, str]] | None = None,
    base_version: int | None = None,
) -> LeadChange | None:
    """Admin edit of contact fields; only the fields given and actually changed are sent."""
    given = {
        "name": name,
        "email": email,
        "phone": phone,
        "dial_code": dial_code,
        "picture": picture,
        "agent_id": agent_id,
        "attributes": attributes,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    return _apply(
        lead=lead, user=user, action="contact", changes=changes, base_version=base_version
    )


def lead_update(*, lead: Lead, user: User, changes: dict[str, Any]) -> LeadChange | None:
    """Any editable fields at once (the Django admin's save)."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    if "tags" in changes:
        changes = {**changes, "tags": _dedupe_tags(changes["tags"])}
    return _apply(lead=lead, user=user, action="admin", changes=changes)


def change_retry(*, change: LeadChange, user: User) -> LeadChange:
    """Send a failed change again (after the token was fixed, say)."""
    require_service(user, RESOLVE)
    with transaction.atomic():
        LeadChange.objects.filter(pk=change.pk, state=LeadChange.State.FAILED).update(
            state=LeadChange.State.PENDING,
            next_attempt_at=None,
            resolved_by=user if getattr(user, "is_authenticated", False) else None,
        )
        delivery.refresh_change_state(change.lead_id)
    _deliver_now(change.lead_id)
    change.refresh_from_db()
    return change


def change_discard(*, change: LeadChange, user: User) -> LeadChange:
    """Give up a failed change: the mirror returns to BotPenguin's value for its fields."""
    require_service(user, RESOLVE)
    with transaction.atomic():
        updated = LeadChange.objects.filter(pk=change.pk, state=LeadChange.State.FAILED).update(
            state=LeadChange.State.DISCARDED,
            resolved_by=user if getattr(user, "is_authenticated", False) else None,
        )
        if updated:
            lead = Lead.objects.select_for_update().get(pk=change.lead_id)
            still_open = {
                name
                for after in LeadChange.objects.filter(
                    lead_id=lead.pk, state__in=LeadChange.OPEN_STATES
                ).values_list("after", flat=True)
                for name in after
            }
            restore = {
                name: value
                for name, value in _api_values(lead, change).items()
                if name not in still_open
            }
            _write_fields(lead, restore)
    change.refresh_from_db()
    return change


def changes_retry_failed(*, user: User) -> int:
    """Retry every failed change (after fixing the token). Returns how many were retried."""
    require_service(user, RESOLVE)
    ids = list(
        LeadChange.objects.filter(state=LeadChange.State.FAILED).values_list("lead_id", flat=True)
    )
    with transaction.atomic():
        count = LeadChange.objects.filter(state=LeadChange.State.FAILED).update(
            state=LeadChange.State.PENDING,
            next_attempt_at=None,
            resolved_by=user if getattr(user, "is_authenticated", False) else None,
        )
        for lead_id in set(ids):
            delivery.refresh_change_state(lead_id)
    for lead_id in set(ids):
        schedule_delivery(lead_id)
    return count


# --- bulk actions ----------------------------------------------------------------------------------


@dataclass
class BulkResult:
    changed: list[Lead] = field(default_factory=list)
    pending: list[Lead] = field(default_factory=list)
    unchanged: list[Lead] = field(default_factory=list)
    failed: list[tuple[Lead, str]] = field(default_factory=list)

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
    return _bulk(leads, user, "tags", lambda current: {"tags": _dedupe_tags([*current.tags, tag])})


def leads_bulk_remove_tag(*, leads: QuerySet[Lead], tag: str, user: User) -> BulkResult:
    key = tag.strip().casefold()
    return _bulk(
        leads, user, "tags",
        lambda current: {"tags": [t for t in current.tags if t.casefold() != key]},
    )  # fmt: skip


def _bulk(leads: QuerySet[Lead], user: User, action: str, changes: Callable) -> BulkResult:
    """Apply to each lead's current values. The first BULK_SEND_NOW edits are sent while the
    person waits; the rest (and all of them once BotPenguin proves unreachable) are queued for the
    worker, so a bulk action on thousands of leads answers in seconds, not minutes."""
    require_service(user, TRIAGE)
    result = BulkResult()
    try_now = True
    send_now = settings.BULK_SEND_NOW
    for index, lead in enumerate(leads.order_by("pk").iterator(chunk_size=200)):
        if index >= send_now:
            try_now = False
        try:
            change = _apply(lead=lead, user=user, action=action, changes=changes, try_now=try_now)
        except EditFailed as e:
            result.failed.append((lead, e.message))
            continue
        if change is None:
            result.unchanged.append(lead)
        elif is_pending(change):
            result.pending.append(lead)
            try_now = False
        else:
            result.changed.append(lead)
    return result


# --- the one path every edit takes ------------------------------------------------------------------


def _dedupe_tags(tags: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for tag in tags:
        tag = str(tag).strip()
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            out.append(tag)
    return out


def _copy(value: Any) -> Any:
    return (
        [dict(v) if isinstance(v, dict) else v for v in value] if isinstance(value, list) else value
    )


def _write_fields(
    lead: Lead, values: dict[str, Any], *, state: dict | None = None, lease: dict | None = None
) -> None:
    """Write mirror fields (inside the caller's transaction), keeping LeadTag rows and the
    lead's pending fields and badge (from its open changes, unless the caller gives them as
    `state`) in step, in one UPDATE; `lease`: delivery lease fields to set in it too."""
    if not values:
        delivery.refresh_change_state(lead.pk)
        return
    Lead.objects.filter(pk=lead.pk).update(
        **values,
        **(state if state is not None else delivery.change_state_values(lead.pk)),
        **(lease or {}),
        version=F("version") + 1,
    )
    if "tags" in values:
        LeadTag.objects.filter(lead_id=lead.pk).delete()
        LeadTag.objects.bulk_create(tag_rows(lead.pk, values["tags"]))
    transaction.on_commit(counting.bump_mirror_version)


def _api_values(lead: Lead, change: LeadChange) -> dict[str, Any]:
    """BotPenguin's values (as last listed) for the change's fields; else the values before it."""
    if lead.raw:
        try:
            record = parse_chat(lead.raw)
        except ParseError:
            record = None
        if record is not None:
            fields = lead_fields_from_record(record, is_lead=lead.is_lead)
            return {name: fields[name] for name in change.after if name in fields}
    return {name: change.before.get(name) for name in change.after}


def _apply(
    *,
    lead: Lead,
    user: User,
    action: str,
    changes: dict[str, Any] | Callable[[Lead], dict[str, Any]],
    base_version: int | None = None,
    try_now: bool = True,
) -> LeadChange | None:
    """Record and apply one edit, then try to deliver it. None when nothing would change."""
    require_service(user, TRIAGE)
    if not callable(changes) and any(
        getattr(lead, name) != value for name, value in changes.items() if name not in TRIAGE_FIELDS
    ):
        require_service(user, EDIT_CONTACT)
    try:
        check_configured()
    except ConfigurationError as e:
        raise EditFailed(str(e)) from e
    with transaction.atomic():
        current = Lead.objects.select_for_update().get(pk=lead.pk)
        wanted = changes(current) if callable(changes) else changes
        wanted = {k: v for k, v in wanted.items() if getattr(current, k) != v}
        if not wanted:
            return None
        if base_version is not None and current.version != base_version:
            raise EditConflict(lead=current, yours=wanted)
        before = {k: _copy(getattr(current, k)) for k in wanted}
        after = {k: _copy(v) for k, v in wanted.items()}
        change = LeadChange.objects.create(
            lead=current,
            user=user if getattr(user, "is_authenticated", False) else None,
            action=action,
            before=before,
            after=after,
            body=build_put_body(
                uuid=current.uuid, bot_id=current.bot_id, customer_id=current.customer_id, **after
            ),
            base_version=base_version if base_version is not None else current.version,
            state=LeadChange.State.PENDING,
        )
        # One UPDATE writes the values, the badge and the delivery lease. The badge is the
        # locked row's own with this change added (a lead's pending fields and badge always
        # mirror its open changes: whatever changes those rewrites them under this lock). The
        # lease is free or not as just read under the lock; None: another process is
        # delivering this lead's changes right now, and the worker sends this one next.
        state = {
            "pending_fields": sorted({*current.pending_fields, *after}),
            "change_state": "failed" if current.change_state == "failed" else "pending",
        }
        taken = delivery.free_lease(current) if try_now else None
        lease, lease_values = taken if taken else (None, None)
        _write_fields(current, wanted, state=state, lease=lease_values)
    if lease:
        outcome = _deliver_now(current.pk, owner=lease)
        if outcome.state == "failed" and change.pk in outcome.change_ids:
            _undo_refused(change, outcome.message)
            lead.refresh_from_db()  # the caller's object shows what the mirror holds again
            raise EditFailed(outcome.message, change=change)
    else:
        schedule_delivery(current.pk)
    change.refresh_from_db()
    lead.refresh_from_db()
    return change


def _deliver_now(lead_id: int, *, owner: str | None = None) -> delivery.Outcome:
    """Deliver the lead's pending changes now (`owner`: the lease, if already taken)."""
    outcome = delivery.deliver_lead(lead_id, force=True, owner=owner)
    if outcome.state in ("pending", "busy"):
        schedule_delivery(lead_id)
    return outcome


def _undo_refused(change: LeadChange, message: str) -> None:
    """BotPenguin refused the edit while the person waited: put the mirror back, discard it."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=change.lead_id)
        LeadChange.objects.filter(pk=change.pk).update(
            state=LeadChange.State.DISCARDED, last_error=message
        )
        _write_fields(lead, {k: change.before[k] for k in change.after})
    change.refresh_from_db()


def schedule_delivery(lead_id: int) -> None:
    """Ask the worker to deliver this lead's pending changes when they are due."""
    from leads.tasks import deliver_lead_changes

    due = (
        LeadChange.objects.filter(lead_id=lead_id, state=LeadChange.State.PENDING)
        .order_by("id")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    run_after = due if due and due > timezone.now() else None

    def enqueue() -> None:
        task = (
            deliver_lead_changes.using(run_after=run_after) if run_after else deliver_lead_changes
        )
        task.enqueue(lead_id=lead_id)

    transaction.on_commit(enqueue)


# --- sync --------------------------------------------------------------------------------------------


def sync_start(*, user: User, full: bool = False) -> SyncRun:
    """Queue a background sync, holding the sync lease for it from now on.

    Raises SyncBusy ("a sync is already running (started … by …)") while another sync holds the
    lease (a person clicked twice, the scheduler ticked during a long sync, the command runs):
    nothing is queued then. The queued run takes the lease over when a worker starts it."""
    require_service(user, SYNC)
    from leads.tasks import run_sync

    holder = getattr(user, "username", "") or "the scheduler"
    with transaction.atomic():
        run = SyncRun.objects.create(kind="all", full=full)
        take_sync_lease(holder=holder, run=run)  # SyncBusy rolls the run back
    transaction.on_commit(lambda: run_sync.enqueue(run_id=run.pk, full=full))
    logger.info("Sync %s started by %s", run.pk, getattr(user, "username", "system"))
    return run
