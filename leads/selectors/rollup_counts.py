"""The insights' daily rollup (leads.models.InsightsDay) as every reader of it starts: its time
zone, whether it is built for TIME_ZONE, its stored rows of refreshed days and the days not
refreshed yet; and, from it, leads per bot and per status. Every lead is on the day its
waiting began, so the waiting counts of every day add up to the bot's leads by status, without
counting a million rows. Days not refreshed yet, and leads without a waiting time, are counted
from the mirror; a rollup not built for TIME_ZONE answers nothing (None), and the caller counts
the mirror itself."""

from __future__ import annotations

from collections import Counter
from datetime import date
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum

from leads.insights.period import Period
from leads.models import InsightsDay, InsightsDirtyDay, InsightsRollupState, Lead, Status
from leads.models.insights import WAITING_COLUMNS

# Every status a lead can have ("" for none): the sync keeps no other value.
EVERY_STATUS = [*Status.values, ""]


def rollup_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def built() -> bool:
    """Whether the rollup counts days in TIME_ZONE (else it is rebuilt before it is read)."""
    state = InsightsRollupState.objects.first()
    return state is not None and state.zone == settings.TIME_ZONE


def refreshed(
    bot_ids: tuple[int, ...] | None,
) -> tuple[QuerySet[InsightsDay], list[tuple[int, date]]]:
    """(The stored rows of the bots' refreshed days, the (bot id, day) pairs not refreshed
    yet); `bot_ids` None: every bot."""
    stored = InsightsDay.objects.all()
    dirty = InsightsDirtyDay.objects.all()
    if bot_ids is not None:
        stored, dirty = stored.filter(bot_id__in=bot_ids), dirty.filter(bot_id__in=bot_ids)
    pairs = list(dirty.values_list("bot_id", "day"))
    for bot_id, day in pairs:
        stored = stored.exclude(bot_id=bot_id, day=day)
    return stored, pairs


def leads_per_bot(bot_ids: tuple[int, ...] | None) -> dict[int, int] | None:
    """{bot id: leads} of the bots `bot_ids` (None: every bot)."""
    counted = _per_bot_and_status(bot_ids)
    if counted is None:
        return None
    found: Counter = Counter()
    for (bot_id, _status), n in counted.items():
        found[bot_id] += n
    return {bot_id: n for bot_id, n in found.items() if n}


def leads_per_status(bot_ids: tuple[int, ...] | None) -> dict[str, int] | None:
    """{status: leads} ("" for none) of the bots `bot_ids` (None: every bot)."""
    counted = _per_bot_and_status(bot_ids)
    if counted is None:
        return None
    found = dict.fromkeys(EVERY_STATUS, 0)
    for (_bot_id, status), n in counted.items():
        found[status] += n
    return found


def _per_bot_and_status(bot_ids: tuple[int, ...] | None) -> Counter | None:
    if not built():
        return None
    stored, dirty = refreshed(bot_ids)
    sums = {status: Sum(column) for status, column in WAITING_COLUMNS.items() if status}
    sums["none"] = Sum(WAITING_COLUMNS[""])
    found: Counter = Counter()
    for row in stored.values("bot_id").annotate(**sums).order_by():
        for status in EVERY_STATUS:
            found[row["bot_id"], status] += row[status or "none"] or 0
    uncounted = Q(waiting_since=None)
    for bot_id, day in dirty:
        period = Period(first=day, last=day, zone=rollup_zone())
        uncounted |= Q(bot_id=bot_id, waiting_since__gte=period.start, waiting_since__lt=period.end)
    leads = Lead.objects.filter(is_lead=True, status__in=EVERY_STATUS)
    if bot_ids is not None:
        leads = leads.filter(bot_id__in=bot_ids)
    rows = leads.filter(uncounted).values_list("bot_id", "status").annotate(n=Count("id"))
    for bot_id, status, n in rows.order_by():
        found[bot_id, status] += n
    return found
