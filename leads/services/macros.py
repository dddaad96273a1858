"""Triage macros: a lead admin's named one-click action (status, assignment, tags added and
removed, a note from a template) applied to a lead as ONE edit: one LeadChange (action "macro")
and one PUT carrying every field it sets, through `apply_edit` like any edit.

Who may apply one: the fields it changes decide. Status, tags and notes are triage; an
assignment follows the assignment rules (leads.services.assignment: an agent may take an
unassigned lead and unassign themselves; assigning a named other agent takes a lead admin, unless
BOTPANEL_AGENTS_MAY_ASSIGN_OTHERS), read on the locked row like every assignment."""

from __future__ import annotations

import re

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from leads.accounts.permissions import TRIAGE, require_service, require_visible
from leads.models import Lead, LeadChange, Macro
from leads.selectors.bots import visibility
from leads.services.assignment import (
    ONLY_ADMINS,
    AssignmentRefused,
    assign_refusal,
    check_target,
    may_assign_others,
    my_agent_id,
)
from leads.services.bulk import BulkResult
from leads.services.edits import EditFailed, User, apply_edit, dedupe_tags, is_pending

ACTION = "macro"
# The only names a note template fills in: a plain substitution, never str.format (a template
# is text a person typed, and format would reach into the values' attributes).
PLACEHOLDER = re.compile(r"\{(name|email|agent|date)\}")


class MacroRefused(AssignmentRefused):
    """This macro cannot be applied here by this person; `message` says why."""


def _person_name(user: User) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return "BotPanel"
    return user.get_full_name() or user.get_username()


def macro_note(*, macro: Macro, lead: Lead, user: User) -> dict | None:
    """The note the macro adds to `lead` (its template filled in), or None."""
    if not (macro.note_title.strip() or macro.note_template.strip()):
        return None
    values = {
        "name": lead.name or "Visitor",
        "email": lead.email,
        "agent": _person_name(user),
        "date": timezone.localdate().isoformat(),
    }
    text = PLACEHOLDER.sub(lambda m: values[m.group(1)], macro.note_template)
    return {"id": "", "title": macro.note_title.strip() or macro.name, "description": text.strip()}


def target_agent(*, macro: Macro, user: User) -> str | None:
    """The agent id the macro assigns to ("" = nobody), or None when it leaves the agent."""
    if macro.assign == Macro.Assign.ME:
        return my_agent_id(user)
    if macro.assign == Macro.Assign.NOBODY:
        return ""
    if macro.assign == Macro.Assign.AGENT:
        return macro.agent_id.strip()
    return None


def _check_target(target: str | None, user: User) -> None:
    """Refused before any lead is touched: a named agent other than oneself needs the right
    to assign others."""
    if target and not may_assign_others(user) and target != my_agent_or_blank(user):
        raise MacroRefused(ONLY_ADMINS)


def my_agent_or_blank(user: User) -> str:
    try:
        return my_agent_id(user)
    except AssignmentRefused:
        return ""


def _changes(macro: Macro, target: str | None, user: User):
    """The macro's fields as a function of the locked lead: all of them in one edit."""

    def changes(current: Lead) -> dict:
        wanted: dict = {}
        if macro.status:
            wanted["status"] = macro.status
        if target is not None:
            refusal = assign_refusal(user=user, current=current.agent_id, target=target)
            if refusal:
                raise MacroRefused(refusal)
            wanted["agent_id"] = target
        if macro.add_tags or macro.remove_tags:
            removed = {str(t).strip().casefold() for t in macro.remove_tags}
            tags = dedupe_tags([*current.tags, *macro.add_tags])
            wanted["tags"] = [t for t in tags if t.casefold() not in removed]
        note = macro_note(macro=macro, lead=current, user=user)
        if note is not None:
            wanted["notes"] = [dict(n) for n in current.notes] + [note]
        return wanted

    return changes


def _apply(macro: Macro, lead: Lead, user: User, target: str | None, *, try_now: bool = True):
    if macro.bot_id is not None and macro.bot_id != lead.bot_id:
        raise MacroRefused(f"The macro {macro.name} is not for this bot's leads.")
    if target:
        check_target(lead=lead, agent_id=target, user=user)
    return apply_edit(
        lead=lead, user=user, action=ACTION, changes=_changes(macro, target, user), try_now=try_now
    )


def macro_apply(*, macro: Macro, lead: Lead, user: User) -> LeadChange | None:
    """Apply `macro` to `lead` as one edit. None when the lead already was so; MacroRefused
    (a PermissionDenied) when this person may not; EditFailed when BotPenguin refused it."""
    require_service(user, TRIAGE)
    require_visible(user, lead.bot_id)
    target = target_agent(macro=macro, user=user)
    _check_target(target, user)
    return _apply(macro, lead, user, target)


def macros_apply_bulk(*, macro: Macro, leads: QuerySet[Lead], user: User) -> BulkResult:
    """Apply `macro` to each of `leads` (of the person's bots, and of the macro's bot when it
    has one), one edit per lead; a lead it may not change is counted as failed with the reason.
    The first BULK_SEND_NOW are sent at once, the rest queued, as every bulk action."""
    require_service(user, TRIAGE)
    target = target_agent(macro=macro, user=user)
    _check_target(target, user)
    if user is not None:
        leads = visibility(user).scope.apply(leads)
    if macro.bot_id is not None:
        leads = leads.filter(bot_id=macro.bot_id)
    result = BulkResult()
    try_now = True
    for index, lead in enumerate(
        leads.select_related("bot").order_by("pk").iterator(chunk_size=200)
    ):
        try_now = try_now and index < settings.BULK_SEND_NOW
        try:
            change = _apply(macro, lead, user, target, try_now=try_now)
        except (AssignmentRefused, EditFailed) as e:
            result.failed.append((lead, e.message))
            continue
        if change is None:
            result.unchanged.append(lead)
            continue
        result.change_ids.append(change.pk)
        if is_pending(change):
            result.pending.append(lead)
            try_now = False
        else:
            result.changed.append(lead)
    return result
