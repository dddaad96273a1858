"""Every write to a lead: one function per user action, keyword-only typed arguments.

Each edit is recorded as a `LeadChange`, sent to BotPenguin with PUT /inbox/direct/lead, and only
after BotPenguin accepted it applied to the mirror. A refusal leaves the mirror untouched and is
raised as `EditFailed` with a message fit to show a person. No transaction is held open across the
HTTP call: the change row is written first, the PUT sent, then the outcome written.

API semantics (API.md): fields absent from the body are left unchanged, arrays present replace the
stored array. So adding a note sends every existing note plus the new one, and a tag edit sends the
whole new list.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from leads.botpenguin.errors import AuthRejected, BotPenguinError, ConfigurationError
from leads.botpenguin.records import STATUSES, build_put_body
from leads.config import check_configured, get_client
from leads.models import Lead, LeadChange, LeadTag, SyncRun
from leads.sync import tag_rows

logger = logging.getLogger(__name__)

# Lead fields a PUT can write, with the keyword build_put_body takes for each.
EDITABLE_FIELDS = (
    "name",
    "email",
    "phone",
    "dial_code",
    "picture",
    "status",
    "agent_id",
    "tags",
    "notes",
    "attributes",
)
CONTACT_FIELDS = ("name", "email", "phone", "dial_code", "picture", "agent_id", "attributes")

User = AbstractBaseUser | AnonymousUser | None


class EditFailed(Exception):
    """BotPenguin did not accept an edit; the mirror was left untouched.

    `message` is fit to show a person; `change` is the recorded (failed) LeadChange;
    `transient` says whether trying again later may work (API down) or not (refused).
    """

    def __init__(self, message: str, *, change: LeadChange | None = None, transient: bool = False):
        super().__init__(message)
        self.message = message
        self.change = change
        self.transient = transient


def describe_error(error: BotPenguinError) -> str:
    """One sentence for a person, never containing the token."""
    if isinstance(error, AuthRejected):
        return "BotPenguin rejected the API token."
    if isinstance(error, ConfigurationError):
        return str(error)
    if getattr(error, "transient", False):
        return f"BotPenguin is unreachable right now, nothing was changed ({error})."
    return str(error)


# --- one function per user action ----------------------------------------------------------------


def lead_set_status(*, lead: Lead, status: str, user: User) -> LeadChange | None:
    if status not in STATUSES:
        raise ValueError(f"Unknown status {status!r}")
    return _apply(lead=lead, user=user, action="status", changes={"status": status})


def lead_add_note(*, lead: Lead, title: str, description: str, user: User) -> LeadChange | None:
    notes = [dict(n) for n in lead.notes] + [
        {"id": "", "title": title.strip(), "description": description.strip()}
    ]
    return _apply(lead=lead, user=user, action="note", changes={"notes": notes})


def lead_set_tags(*, lead: Lead, tags: Iterable[str], user: User) -> LeadChange | None:
    return _apply(lead=lead, user=user, action="tags", changes={"tags": _dedupe_tags(tags)})


def lead_add_tag(*, lead: Lead, tag: str, user: User) -> LeadChange | None:
    return lead_set_tags(lead=lead, tags=[*lead.tags, tag.strip()], user=user)


def lead_remove_tag(*, lead: Lead, tag: str, user: User) -> LeadChange | None:
    key = tag.strip().casefold()
    return lead_set_tags(lead=lead, tags=[t for t in lead.tags if t.casefold() != key], user=user)


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
    if "phone" in changes and "dial_code" not in changes and changes["phone"]:
        changes["dial_code"] = lead.dial_code
    return _apply(lead=lead, user=user, action="contact", changes=changes)


def lead_update(*, lead: Lead, user: User, changes: dict[str, Any]) -> LeadChange | None:
    """Any editable fields at once (the Django admin's save)."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    if "tags" in changes:
        changes = {**changes, "tags": _dedupe_tags(changes["tags"])}
    return _apply(lead=lead, user=user, action="admin", changes=changes)


# --- bulk actions ----------------------------------------------------------------------------------


@dataclass
class BulkResult:
    changed: list[Lead] = field(default_factory=list)
    unchanged: list[Lead] = field(default_factory=list)
    failed: list[tuple[Lead, str]] = field(default_factory=list)

    @property
    def summary(self) -> str:
        parts = [f"{len(self.changed)} changed"]
        if self.unchanged:
            parts.append(f"{len(self.unchanged)} already so")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        return ", ".join(parts)


def leads_bulk_set_status(*, leads: QuerySet[Lead], status: str, user: User) -> BulkResult:
    if status not in STATUSES:
        raise ValueError(f"Unknown status {status!r}")
    return _bulk(leads, lambda lead: lead_set_status(lead=lead, status=status, user=user))


def leads_bulk_add_tag(*, leads: QuerySet[Lead], tag: str, user: User) -> BulkResult:
    return _bulk(leads, lambda lead: lead_add_tag(lead=lead, tag=tag, user=user))


def leads_bulk_remove_tag(*, leads: QuerySet[Lead], tag: str, user: User) -> BulkResult:
    return _bulk(leads, lambda lead: lead_remove_tag(lead=lead, tag=tag, user=user))


def _bulk(leads: QuerySet[Lead], action) -> BulkResult:
    result = BulkResult()
    # Each lead is read fresh (current values) and edited on its own: one refusal does not stop
    # the others. Iterating in chunks keeps memory flat for "all N matching the filter".
    for lead in leads.order_by("pk").iterator(chunk_size=200):
        try:
            change = action(lead)
        except EditFailed as e:
            result.failed.append((lead, e.message))
            continue
        (result.changed if change is not None else result.unchanged).append(lead)
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


def _value_for_log(value: Any) -> Any:
    return list(value) if isinstance(value, list | tuple) else value


def _apply(*, lead: Lead, user: User, action: str, changes: dict[str, Any]) -> LeadChange | None:
    """Record, send and (once accepted) apply one edit. Returns None when nothing would change."""
    changes = {k: v for k, v in changes.items() if getattr(lead, k) != v}
    if not changes:
        return None
    try:
        check_configured()
    except ConfigurationError as e:
        raise EditFailed(str(e)) from e
    before = {k: _value_for_log(getattr(lead, k)) for k in changes}
    after = {k: _value_for_log(v) for k, v in changes.items()}
    body = build_put_body(uuid=lead.uuid, bot_id=lead.bot_id, customer_id=lead.customer_id, **after)
    change = LeadChange.objects.create(
        lead=lead,
        user=user if getattr(user, "is_authenticated", False) else None,
        action=action,
        before=before,
        after=after,
        body=body,
        state=LeadChange.State.PENDING,
    )
    try:
        with get_client(read_timeout=settings.BOTPENGUIN_EDIT_TIMEOUT, retries=0) as client:
            client.put_lead(body)
    except BotPenguinError as e:
        message = describe_error(e)
        LeadChange.objects.filter(pk=change.pk).update(
            state=LeadChange.State.FAILED,
            attempts=F("attempts") + 1,
            last_error=message,
            last_http_status=getattr(e, "status", None),
        )
        change.refresh_from_db()
        logger.info("Edit %s of lead %s refused: %s", action, lead.pk, message)
        raise EditFailed(
            message, change=change, transient=bool(getattr(e, "transient", False))
        ) from e
    now = timezone.now()
    with transaction.atomic():
        Lead.objects.filter(pk=lead.pk).update(
            **changes, version=F("version") + 1, remote_updated_at=now
        )
        if "tags" in changes:
            LeadTag.objects.filter(lead_id=lead.pk).delete()
            LeadTag.objects.bulk_create(tag_rows(lead.pk, changes["tags"]))
        LeadChange.objects.filter(pk=change.pk).update(
            state=LeadChange.State.DELIVERED,
            attempts=F("attempts") + 1,
            delivered_at=now,
            last_error="",
            last_http_status=200,
        )
    lead.refresh_from_db()
    change.refresh_from_db()
    return change


# --- sync --------------------------------------------------------------------------------------------

SYNC_STALE_AFTER = timedelta(minutes=30)


def sync_start(*, user: User, full: bool = False) -> SyncRun:
    """Start a background sync, or return the one already running (a person clicked twice)."""
    from leads.tasks import run_sync

    running = (
        SyncRun.objects.filter(
            state=SyncRun.State.RUNNING, started_at__gte=timezone.now() - SYNC_STALE_AFTER
        )
        .order_by("-started_at")
        .first()
    )
    if running is not None:
        return running
    run = SyncRun.objects.create(kind="all", full=full)
    transaction.on_commit(lambda: run_sync.enqueue(run_id=run.pk, full=full))
    logger.info("Sync %s started by %s", run.pk, getattr(user, "username", "system"))
    return run
