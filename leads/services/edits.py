"""Every write to one lead: one function per user action, keyword-only typed arguments.

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

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from leads import rollup, tasks
from leads.accounts.permissions import EDIT_CONTACT, TRIAGE, require_service, require_visible
from leads.botpenguin.errors import ConfigurationError
from leads.botpenguin.records import STATUSES, build_put_body
from leads.bots.config import check_configured, put_ids
from leads.delivery import (
    Outcome,
    change_state_values,
    deliver_lead,
    free_lease,
    refresh_change_state,
)
from leads.models import EDITABLE_FIELDS, Bot, Lead, LeadChange, LeadTag, tag_rows
from leads.selectors import counting

SAVED_PENDING = "Saved — will be sent to BotPenguin when it is reachable."

User = AbstractBaseUser | AnonymousUser | None  # None: the system itself (commands, worker)
Changes = dict[str, Any] | Callable[[Lead], dict[str, Any]]

# Any edit needs the triage permission; one that changes any other field (contact details,
# picture, agent, attributes) needs contact rights too, whichever service or form it came from.
TRIAGE_FIELDS = {"status", "notes", "tags"}
# The fields the insights' daily rollup counts by: an edit of one marks the lead's days dirty.
INSIGHTS_FIELDS = {"status", "agent_id", "tags"}
# An assignment's agent_id too: leads.services.assignment decides who may assign whom first.
ASSIGN = "assign"


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


def acting_user(user: User):
    """The person to record on a change (None for the system or an anonymous caller)."""
    return user if getattr(user, "is_authenticated", False) else None


# --- one function per user action ----------------------------------------------------------------


def lead_set_status(
    *, lead: Lead, status: str, user: User, base_version: int | None = None
) -> LeadChange | None:
    if status not in STATUSES:
        raise ValueError(f"Unknown status {status!r}")
    return apply_edit(
        lead=lead,
        user=user,
        action="status",
        changes={"status": status},
        base_version=base_version,
    )


def lead_add_note(*, lead: Lead, title: str, description: str, user: User) -> LeadChange | None:
    """Appends to the current notes (no conflict possible: the API keeps every note sent)."""

    def changes(current: Lead) -> dict:
        new = {"id": "", "title": title.strip(), "description": description.strip()}
        return {"notes": [dict(n) for n in current.notes] + [new]}

    return apply_edit(lead=lead, user=user, action="note", changes=changes)


def lead_add_tag(*, lead: Lead, tag: str, user: User) -> LeadChange | None:
    """Adds to the current tags, whatever changed since the page was shown."""
    return apply_edit(lead=lead, user=user, action="tags", changes=adding_tag(tag))


def lead_remove_tag(*, lead: Lead, tag: str, user: User) -> LeadChange | None:
    return apply_edit(lead=lead, user=user, action="tags", changes=removing_tag(tag))


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
    return apply_edit(
        lead=lead, user=user, action="contact", changes=changes, base_version=base_version
    )


def lead_update(*, lead: Lead, user: User, changes: dict[str, Any]) -> LeadChange | None:
    """Any editable fields at once (the Django admin's save)."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    if "tags" in changes:
        changes = {**changes, "tags": dedupe_tags(changes["tags"])}
    return apply_edit(lead=lead, user=user, action="admin", changes=changes)


# --- tag edits, as functions of the lead's current tags (one lead or many) ------------------------


def adding_tag(tag: str) -> Callable[[Lead], dict[str, Any]]:
    return lambda current: {"tags": dedupe_tags([*current.tags, tag])}


def removing_tag(tag: str) -> Callable[[Lead], dict[str, Any]]:
    key = tag.strip().casefold()
    return lambda current: {"tags": [t for t in current.tags if t.casefold() != key]}


def dedupe_tags(tags: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for tag in tags:
        tag = str(tag).strip()
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            out.append(tag)
    return out


# --- the one path every edit takes ------------------------------------------------------------------


def write_fields(
    lead: Lead, values: dict[str, Any], *, state: dict | None = None, lease: dict | None = None
) -> None:
    """Write mirror fields (inside the caller's transaction), keeping LeadTag rows and the
    lead's pending fields and badge (from its open changes, unless the caller gives them as
    `state`) in step, in one UPDATE; `lease`: delivery lease fields to set in it too."""
    if not values:
        refresh_change_state(lead.pk)
        return
    if "status" in values:
        values = {"waiting_since": timezone.now(), **values}
    Lead.objects.filter(pk=lead.pk).update(
        **values,
        **(state if state is not None else change_state_values(lead.pk)),
        **(lease or {}),
        version=F("version") + 1,
    )
    if "tags" in values:
        LeadTag.objects.filter(lead_id=lead.pk).delete()
        LeadTag.objects.bulk_create(tag_rows(lead.pk, values["tags"]))
    if INSIGHTS_FIELDS.intersection(values):
        rollup.touch([lead.pk])
    transaction.on_commit(counting.bump_mirror_version)


def _copy(value: Any) -> Any:
    return (
        [dict(v) if isinstance(v, dict) else v for v in value] if isinstance(value, list) else value
    )


def _check_allowed(lead: Lead, user: User, changes: Changes, action: str = "") -> None:
    """Triage rights for any edit; contact rights too when it changes a non-triage field; and a
    person sees the lead's bot (else it is a 404 for them)."""
    require_service(user, TRIAGE)
    require_visible(user, lead.bot_id)
    triage = TRIAGE_FIELDS | {"agent_id"} if action == ASSIGN else TRIAGE_FIELDS
    if not callable(changes) and any(
        getattr(lead, name) != value for name, value in changes.items() if name not in triage
    ):
        require_service(user, EDIT_CONTACT)
    try:
        check_configured(lead.bot)
    except ConfigurationError as e:
        raise EditFailed(str(e)) from e


def _record(
    current: Lead,
    wanted: dict[str, Any],
    *,
    bot: Bot,
    user: User,
    action: str,
    base_version: int | None,
) -> LeadChange:
    """The LeadChange for `wanted` on the locked row `current` of `bot`, pending."""
    after = {k: _copy(v) for k, v in wanted.items()}
    bot_id, customer_id = put_ids(bot)
    return LeadChange.objects.create(
        lead=current,
        user=acting_user(user),
        action=action,
        before={k: _copy(getattr(current, k)) for k in wanted},
        after=after,
        body=build_put_body(uuid=current.uuid, bot_id=bot_id, customer_id=customer_id, **after),
        base_version=base_version if base_version is not None else current.version,
        state=LeadChange.State.PENDING,
    )


def apply_edit(
    *,
    lead: Lead,
    user: User,
    action: str,
    changes: Changes,
    base_version: int | None = None,
    try_now: bool = True,
) -> LeadChange | None:
    """Record and apply one edit, then try to deliver it. None when nothing would change."""
    _check_allowed(lead, user, changes, action)
    with transaction.atomic():
        current = Lead.objects.select_for_update().get(pk=lead.pk)
        wanted = changes(current) if callable(changes) else changes
        wanted = {k: v for k, v in wanted.items() if getattr(current, k) != v}
        if not wanted:
            return None
        if base_version is not None and current.version != base_version:
            raise EditConflict(lead=current, yours=wanted)
        change = _record(
            current, wanted, bot=lead.bot, user=user, action=action, base_version=base_version
        )
        # One UPDATE writes the values, the badge and the delivery lease. The badge is the
        # locked row's own with this change added (a lead's pending fields and badge always
        # mirror its open changes: whatever changes those rewrites them under this lock). The
        # lease is free or not as just read under the lock; None: another process is
        # delivering this lead's changes right now, and the worker sends this one next.
        state = {
            "pending_fields": sorted({*current.pending_fields, *wanted}),
            "change_state": "failed" if current.change_state == "failed" else "pending",
        }
        taken = free_lease(current) if try_now else None
        lease, lease_values = taken if taken else (None, None)
        write_fields(current, wanted, state=state, lease=lease_values)
    if lease:
        outcome = deliver_now(current.pk, owner=lease)
        if outcome.state == "failed" and change.pk in outcome.change_ids:
            _undo_refused(change, outcome.message)
            lead.refresh_from_db()  # the caller's object shows what the mirror holds again
            raise EditFailed(outcome.message, change=change)
    else:
        tasks.schedule_delivery(current.pk)
    change.refresh_from_db()
    lead.refresh_from_db()
    return change


def deliver_now(lead_id: int, *, owner: str | None = None) -> Outcome:
    """Deliver the lead's pending changes now (`owner`: the lease, if already taken)."""
    outcome = deliver_lead(lead_id, force=True, owner=owner)
    if outcome.state in ("pending", "busy"):
        tasks.schedule_delivery(lead_id)
    if outcome.woken:
        tasks.deliver_due_changes.enqueue()
    return outcome


def _undo_refused(change: LeadChange, message: str) -> None:
    """BotPenguin refused the edit while the person waited: put the mirror back, discard it."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=change.lead_id)
        LeadChange.objects.filter(pk=change.pk).update(
            state=LeadChange.State.DISCARDED, last_error=message
        )
        write_fields(lead, {k: change.before[k] for k in change.after})
    change.refresh_from_db()
