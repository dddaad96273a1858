"""How long a lead has waited and whether it is overdue: waiting in a status longer than that
status's OverdueRule allows (`Lead.waiting_since` < now - after_minutes). A status without a rule
never makes a lead overdue.

The rules are a handful of rows that lead admins change rarely and every list page reads (each
row's overdue flag), so they are cached; saving or deleting a rule drops the copy and bumps the
mirror version, so that cached counts of the Overdue queue follow at once in this process (and
within RULES_SECONDS elsewhere with the per-process cache).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from leads.models import OverdueRule
from leads.selectors import counting

RULES_KEY = "botpanel:overdue-rules"
RULES_SECONDS = 300


def rules() -> dict[str, int]:
    """{status: minutes a lead may wait in it}, cached."""
    found = cache.get(RULES_KEY)
    if found is None:
        found = dict(OverdueRule.objects.values_list("status", "after_minutes"))
        cache.set(RULES_KEY, found, RULES_SECONDS)
    return found


@receiver(post_save, sender=OverdueRule, dispatch_uid="leads.overdue.rule_saved")
@receiver(post_delete, sender=OverdueRule, dispatch_uid="leads.overdue.rule_deleted")
def forget_rules(sender=None, **kwargs) -> None:
    cache.delete(RULES_KEY)
    counting.bump_mirror_version()


def overdue_q(now: datetime | None = None) -> Q:
    """Leads overdue at `now`: per ruled status, a range on (status, waiting_since), which the
    (is_lead, status, waiting_since) index serves. No rule: a condition nothing matches."""
    now = now or timezone.now()
    condition = Q(pk__in=[])
    for status, minutes in sorted(rules().items()):
        condition |= Q(status=status, waiting_since__lt=now - timedelta(minutes=minutes))
    return condition


def is_overdue(
    status: str, waiting_since: datetime | None, now: datetime, ruled: dict[str, int]
) -> bool:
    """The row's flag, the same test as overdue_q: strictly longer than the rule allows."""
    minutes = ruled.get(status)
    if minutes is None or waiting_since is None:
        return False
    return waiting_since < now - timedelta(minutes=minutes)


@dataclass(frozen=True)
class Waiting:
    """What the detail page shows of a lead's wait: since when, and overdue from when."""

    since: datetime | None
    overdue: bool
    due_at: datetime | None  # when it becomes (or became) overdue; None without a rule


def waiting(lead, now: datetime | None = None) -> Waiting:
    now = now or timezone.now()
    ruled = rules()
    minutes = ruled.get(lead.status)
    since = lead.waiting_since
    due_at = since + timedelta(minutes=minutes) if since and minutes is not None else None
    return Waiting(since=since, overdue=is_overdue(lead.status, since, now, ruled), due_at=due_at)


def minutes_text(minutes: int) -> str:
    """A rule's threshold as people say it: "90 min", "4 h", "3 days", "1 day 12 h"."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} day" + ("" if days == 1 else "s"))
    if hours:
        parts.append(f"{hours} h")
    if mins or not parts:
        parts.append(f"{mins} min")
    return " ".join(parts)
