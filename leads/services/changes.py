"""Edits BotPenguin refused (failed changes): retry one, retry all, or discard one."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from leads import tasks  # the module, not its names: see leads.services.edits
from leads.accounts.permissions import RESOLVE, require_service, require_visible
from leads.botpenguin.records import ParseError, parse_chat
from leads.delivery import refresh_change_state
from leads.models import Lead, LeadChange
from leads.selectors.bots import visibility
from leads.services.edits import User, acting_user, deliver_now, write_fields
from leads.sync.rows import lead_fields_from_record


def change_retry(*, change: LeadChange, user: User) -> LeadChange:
    """Send a failed change again (after the token was fixed, say)."""
    require_service(user, RESOLVE)
    require_visible(user, change.lead.bot_id)
    with transaction.atomic():
        LeadChange.objects.filter(pk=change.pk, state=LeadChange.State.FAILED).update(
            state=LeadChange.State.PENDING,
            next_attempt_at=None,
            resolved_by=acting_user(user),
        )
        refresh_change_state(change.lead_id)
    deliver_now(change.lead_id)
    change.refresh_from_db()
    return change


def change_discard(*, change: LeadChange, user: User) -> LeadChange:
    """Give up a failed change: the mirror returns to BotPenguin's value for its fields."""
    require_service(user, RESOLVE)
    require_visible(user, change.lead.bot_id)
    with transaction.atomic():
        updated = LeadChange.objects.filter(pk=change.pk, state=LeadChange.State.FAILED).update(
            state=LeadChange.State.DISCARDED,
            resolved_by=acting_user(user),
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
            write_fields(lead, restore)
    change.refresh_from_db()
    return change


def changes_retry_failed(*, user: User) -> int:
    """Retry every failed change of the leads `user` sees (after fixing the token). Returns how
    many were retried."""
    require_service(user, RESOLVE)
    failed = LeadChange.objects.filter(state=LeadChange.State.FAILED)
    if user is not None:
        failed = visibility(user).scope.apply(failed, "lead__bot_id")
    ids = list(failed.values_list("lead_id", flat=True))
    with transaction.atomic():
        count = LeadChange.objects.filter(pk__in=failed.values("pk")).update(
            state=LeadChange.State.PENDING,
            next_attempt_at=None,
            resolved_by=acting_user(user),
        )
        for lead_id in set(ids):
            refresh_change_state(lead_id)
    for lead_id in set(ids):
        tasks.schedule_delivery(lead_id)
    return count


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
