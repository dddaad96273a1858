"""Assigning leads to people: the PUT's `agentId`, through `apply_edit` like every edit.

Who may assign whom: an agent (triage rights) may assign a lead to themselves when it is
unassigned, and unassign themselves; assigning to anyone else, taking a lead from someone else or
unassigning them takes a lead admin (contact rights), or any agent when the setting
BOTPANEL_AGENTS_MAY_ASSIGN_OTHERS is on. Only a person linked to an agent id (selectors.people)
who works on the lead's bot can be chosen. The rule is applied to the locked row, so a lead
assigned meanwhile to someone else is not taken over by an agent.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from leads.accounts.permissions import (
    EDIT_CONTACT,
    TRIAGE,
    has,
    require_service,
    require_visible,
)
from leads.models import Lead, LeadChange
from leads.selectors import people
from leads.selectors.bots import visibility
from leads.services.bulk import BulkResult
from leads.services.edits import ASSIGN, EditFailed, User, apply_edit, is_pending

LINK_FIRST = "Link your BotPenguin agent id on your profile first."
ONLY_ADMINS = "Only lead admins may assign a lead to someone else."


class AssignmentRefused(PermissionDenied):
    """This person may not make this assignment; `message` says why, fit to show them."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def may_assign_others(user: User) -> bool:
    """Assign to anyone, take over or unassign anyone's lead (the system may)."""
    return (
        user is None
        or has(user, EDIT_CONTACT)
        or bool(getattr(settings, "BOTPANEL_AGENTS_MAY_ASSIGN_OTHERS", False))
    )


def my_agent_id(user: User) -> str:
    """The agent id `user` is linked to, or AssignmentRefused(LINK_FIRST)."""
    person = people.person_of(user)
    if person is None:
        raise AssignmentRefused(LINK_FIRST)
    return person.agent_id


def _single_bot(user: User) -> bool:
    if user is None:
        return people.single_bot_installation()
    return visibility(user).installation_bots == 1


def check_target(*, lead: Lead, agent_id: str, user: User) -> None:
    """`agent_id` ("" = nobody) is someone the lead can be assigned to: a person linked to it
    who works on the lead's bot."""
    if not agent_id:
        return
    person = people.person_by_agent_id(agent_id)
    if person is None:
        label = people.agent_label(agent_id)
        raise AssignmentRefused(f"No BotPanel user is linked to the agent id {label.text}.")
    if not person.works_on(lead.bot_id, single_bot=_single_bot(user)):
        raise AssignmentRefused(f"{person.name} does not work on the bot {lead.bot.name}.")


def assign_refusal(*, user: User, current: str, target: str) -> str | None:
    """Why `user` may not change a lead assigned to `current` ("" = nobody) to `target`, or
    None when they may."""
    if current == target or may_assign_others(user):
        return None
    person = people.person_of(user)
    mine = person.agent_id if person else ""
    holder = people.agent_label(current).text
    if target and target != mine:
        return ONLY_ADMINS
    if target and current:
        return f"This lead is assigned to {holder}: only lead admins may reassign it."
    if not target and current != mine:
        return f"This lead is assigned to {holder}: only lead admins may unassign it."
    return None


def _assign(
    lead: Lead, agent_id: str, user: User, *, base_version: int | None = None, try_now=True
) -> LeadChange | None:
    require_service(user, TRIAGE)
    require_visible(user, lead.bot_id)  # before a message names anything of the lead
    check_target(lead=lead, agent_id=agent_id, user=user)

    def changes(current: Lead) -> dict:
        # The rule reads the locked row: whoever holds the lead now.
        refusal = assign_refusal(user=user, current=current.agent_id, target=agent_id)
        if refusal:
            raise AssignmentRefused(refusal)
        return {"agent_id": agent_id}

    return apply_edit(
        lead=lead,
        user=user,
        action=ASSIGN,
        changes=changes,
        base_version=base_version,
        try_now=try_now,
    )


def lead_assign(
    *, lead: Lead, agent_id: str, user: User, base_version: int | None = None
) -> LeadChange | None:
    """Assign `lead` to the person linked to `agent_id` ("" = unassign). None when it already
    was so; AssignmentRefused when `user` may not; EditFailed/EditConflict as any edit."""
    return _assign(lead, (agent_id or "").strip(), user, base_version=base_version)


def lead_assign_to_me(*, lead: Lead, user: User) -> LeadChange | None:
    """Assign to me; AssignmentRefused(LINK_FIRST) for a person linked to no agent id."""
    return lead_assign(lead=lead, agent_id=my_agent_id(user), user=user)


def leads_bulk_assign(*, leads: QuerySet[Lead], agent_id: str, user: User) -> BulkResult:
    """Assign each lead (of the person's bots) to `agent_id` ("" = unassign); a lead this person
    may not assign, or of a bot the chosen person does not work on, is counted as failed with the
    reason. Like the other bulk actions, the first BULK_SEND_NOW edits are sent at once, the rest
    queued for the worker."""
    require_service(user, TRIAGE)
    agent_id = (agent_id or "").strip()
    if user is not None:
        leads = visibility(user).scope.apply(leads)
    result = BulkResult()
    try_now = True
    for index, lead in enumerate(
        leads.select_related("bot").order_by("pk").iterator(chunk_size=200)
    ):
        if index >= settings.BULK_SEND_NOW:
            try_now = False
        try:
            change = _assign(lead, agent_id, user, try_now=try_now)
        except (AssignmentRefused, EditFailed) as e:
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
