"""Leads per bot from the insights' daily rollup (leads.models.InsightsDay): every lead is on
the day its waiting began, so the waiting counts of every day add up to the leads of the bot,
without counting a million rows. Days not refreshed yet, and leads without a waiting time, are
counted from the mirror; a rollup not built for TIME_ZONE answers nothing."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta
from functools import reduce
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, F, Q, Sum

from leads.models import InsightsDay, InsightsDirtyDay, InsightsRollupState, Lead, Status
from leads.models.insights import WAITING_COLUMNS

# Every status a lead can have ("" for none): the sync keeps no other value.
EVERY_STATUS = [*Status.values, ""]


def leads_per_bot(bot_ids: tuple[int, ...] | None) -> dict[int, int] | None:
    """{bot id: leads} of the bots `bot_ids` (None: every bot), or None without a rollup."""
    state = InsightsRollupState.objects.first()
    if state is None or state.zone != settings.TIME_ZONE:
        return None
    stored = InsightsDay.objects.all()
    dirty = InsightsDirtyDay.objects.all()
    leads = Lead.objects.filter(is_lead=True, status__in=EVERY_STATUS)
    if bot_ids is not None:
        stored, dirty = stored.filter(bot_id__in=bot_ids), dirty.filter(bot_id__in=bot_ids)
        leads = leads.filter(bot_id__in=bot_ids)
    dirty = list(dirty.values_list("bot_id", "day"))
    for bot_id, day in dirty:
        stored = stored.exclude(bot_id=bot_id, day=day)
    waiting = reduce(lambda total, column: total + F(column), WAITING_COLUMNS.values(), 0)
    found = Counter(dict(stored.values_list("bot_id").annotate(n=Sum(waiting)).order_by()))
    zone = ZoneInfo(settings.TIME_ZONE)
    uncounted = Q(waiting_since=None)
    for bot_id, day in dirty:
        start = datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
        uncounted |= Q(bot_id=bot_id, waiting_since__gte=start, waiting_since__lt=end)
    found.update(dict(leads.filter(uncounted).values_list("bot_id").annotate(n=Count("id"))))
    return {bot_id: n for bot_id, n in found.items() if n}
