"""The insights' daily rollup (issue 19): the writers mark the days they touch, a refresh
recomputes them, and the page shows the mirror as it is before and after the refresh."""

import random
import re
import statistics
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from leads import rollup, services
from leads.insights.histogram import rounded, spread_of
from leads.models import (
    Bot,
    InsightsDay,
    InsightsDirtyDay,
    InsightsRollupState,
    Lead,
    StatusChange,
)
from leads.sync.run import sync_leads
from tests.factories import env_bot, make_chat, make_lead

pytestmark = pytest.mark.django_db


def closing_days() -> list:
    """The days of the rollup rows that count a closing (one per row)."""
    return [row.day for row in InsightsDay.objects.all() if row.closings]


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def csv_rows(client, chart: str, query: str = "range=7") -> list[list[str]]:
    response = client.get(f"/insights/?{query}&_export=csv&chart={chart}")
    assert response.status_code == 200
    return [line.split(",") for line in response.content.decode().splitlines()]


def closed_in_weeks(client) -> int:
    return sum(int(row[1]) for row in csv_rows(client, "time_to_close")[1:])


def dirty_days() -> set:
    return set(InsightsDirtyDay.objects.values_list("day", flat=True))


@pytest.fixture
def mirrored(botpenguin, user, settings):
    """Three leads synced from the sandbox, two arriving 2 days ago and one 30 hours ago (UTC,
    the installation's time zone and the agent's), the rollup refreshed."""
    settings.TIME_ZONE = "UTC"
    now = timezone.now().replace(microsecond=0)
    env_bot().members.add(user)
    for n, hours in ((1, 48), (2, 48), (3, 30)):
        chat = make_chat(n)
        chat["createdAt"], chat["updatedAt"] = iso(now - timedelta(hours=hours)), iso(now)
        botpenguin.sandbox.add_chat(chat, is_lead=True)
    sync_leads(kinds=["lead"])
    return now


def test_a_sync_marks_the_days_it_wrote_and_a_refresh_computes_them(mirrored, agent_client):
    arrived = {(mirrored - timedelta(hours=h)).date() for h in (48, 30)}
    assert arrived <= dirty_days()
    rollup.refresh()
    assert not InsightsDirtyDay.objects.exists()
    assert InsightsRollupState.objects.get().zone == "UTC"
    assert sum(InsightsDay.objects.values_list("leads", flat=True)) == 3
    per_day = {row[0]: int(row[1]) for row in csv_rows(agent_client, "arrivals")[1:]}
    day_48, day_30 = ((mirrored - timedelta(hours=h)).date().isoformat() for h in (48, 30))
    assert sum(per_day.values()) == 3
    assert per_day[day_48] == 2 + (day_48 == day_30)


def test_an_edit_counts_at_once_and_after_the_refresh(mirrored, agent_client, user):
    rollup.refresh()
    assert closed_in_weeks(agent_client) == 0
    lead = Lead.objects.get(uuid=make_chat(3)["uuid"])
    services.lead_set_status(lead=lead, status="CLOSED", user=user)
    assert StatusChange.objects.filter(lead=lead, to_status="CLOSED").exists()  # delivered
    assert timezone.now().date() in dirty_days()
    assert closed_in_weeks(agent_client) == 1  # the dirty day, computed now
    rollup.refresh()
    cache.clear()
    assert not InsightsDirtyDay.objects.exists()
    assert closed_in_weeks(agent_client) == 1  # the same, from the rollup
    assert len(closing_days()) == 1


def test_a_reopened_lead_leaves_the_day_it_was_closed(mirrored, agent_client, user):
    lead = Lead.objects.get(uuid=make_chat(1)["uuid"])
    closed_at = mirrored - timedelta(hours=40)
    StatusChange.objects.create(
        lead=lead, bot=lead.bot, from_status="OPEN", to_status="CLOSED", at=closed_at, source="x"
    )
    Lead.objects.filter(pk=lead.pk).update(status="CLOSED")
    rollup.touch([lead.pk])  # as a sync seeing that change does
    rollup.refresh()
    assert closing_days() == [closed_at.date()]
    lead.refresh_from_db()
    services.lead_set_status(lead=lead, status="OPEN", user=user)
    assert closed_at.date() in dirty_days()  # the old closing's day, not only today
    rollup.refresh()
    cache.clear()
    assert closing_days() == []
    assert closed_in_weeks(agent_client) == 0


def test_a_day_marked_again_while_it_is_recomputed_stays_dirty(mirrored, monkeypatch):
    computing = rollup.day_rows

    def marked_meanwhile(bot_id, day):
        rows = computing(bot_id, day)
        rollup.mark([(bot_id, day)])  # a writer touching the day before the refresh commits
        return rows

    monkeypatch.setattr(rollup, "day_rows", marked_meanwhile)
    rollup.refresh()
    assert len(dirty_days()) == 2
    monkeypatch.setattr(rollup, "day_rows", computing)
    rollup.refresh()
    assert not dirty_days()


def test_another_time_zone_rebuilds_the_rollup_in_it(mirrored, settings):
    rollup.refresh()
    arrivals = Lead.objects.values_list("remote_created_at", flat=True)
    assert set(InsightsDay.objects.values_list("day", flat=True)) == {a.date() for a in arrivals}
    settings.TIME_ZONE = "Pacific/Kiritimati"  # UTC+14
    rollup.refresh()
    assert InsightsRollupState.objects.get().zone == "Pacific/Kiritimati"
    there = ZoneInfo("Pacific/Kiritimati")
    assert set(InsightsDay.objects.values_list("day", flat=True)) == {
        a.astimezone(there).date() for a in arrivals
    }


def test_the_command_recomputes_what_is_dirty(mirrored, capsys):
    call_command("refresh_insights")
    assert capsys.readouterr().out.strip() == "Insights: 2 day(s) recomputed."
    call_command("refresh_insights")
    assert capsys.readouterr().out.strip() == "Insights: 0 day(s) recomputed."


def test_durations_are_kept_to_two_significant_figures():
    assert [rounded(s) for s in (0, 86, 99, 100, 3449, 3450, 86399, 568800)] == [
        0,
        86,
        99,
        100,
        3400,
        3500,
        86000,
        570000,
    ]


def test_percentiles_of_counted_values_are_those_of_the_values():
    rng = random.Random(7)
    for size in (1, 2, 3, 10, 101):
        values = [rng.choice([60, 600, 3600, 7200, 86400]) for _ in range(size)]
        found = spread_of({v: values.count(v) for v in set(values)})
        p90 = values[0] if size == 1 else statistics.quantiles(values, n=10, method="inclusive")[8]
        assert (found.count, found.median, found.p90) == (size, statistics.median(values), p90)


def test_the_bot_switcher_counts_every_lead_from_the_rollup(agent_client, user, settings):
    settings.TIME_ZONE = "UTC"
    website = env_bot()
    whatsapp = Bot.objects.create(name="WhatsApp", api_url="http://x", remote_bot_id="w")
    whatsapp.members.add(user)
    now = timezone.now()
    made = [
        make_lead(n, bot=bot, waiting_since=now - timedelta(days=n % 5))
        for n, bot in enumerate([website] * 4 + [whatsapp] * 3)
    ]
    make_lead(20, bot=whatsapp, waiting_since=None)  # on no day of the rollup
    rollup.rebuild()
    rollup.refresh()
    # A lead that arrived since the refresh, its day not refreshed yet (as a sync marks it).
    make_lead(21, bot=website, waiting_since=made[0].waiting_since)
    rollup.touch([Lead.objects.get(name="Person 21").pk])
    assert dirty_days()
    cache.clear()
    page = agent_client.get("/leads/").content.decode()
    switcher = page.split('id="bot-switcher"')[1].split("</ul>")[0]
    assert re.search(r'data-bot="all">All bots <span[^>]*>9<', switcher)
    assert re.search(rf'data-bot="{website.pk}">[^<]* <span[^>]*>5<', switcher)
    assert re.search(rf'data-bot="{whatsapp.pk}">WhatsApp <span[^>]*>4<', switcher)


def test_the_overview_counts_the_mirror_from_the_rollup(agent_client, user, settings):
    settings.TIME_ZONE = "UTC"
    env_bot().members.add(user)
    now = timezone.now()
    for n in range(6):
        make_lead(n, waiting_since=now - timedelta(days=n), missing_since=now if n == 2 else None)
    make_lead(10, is_lead=False)
    make_lead(11, is_lead=False, missing_since=now)
    rollup.rebuild()
    rollup.refresh()
    rollup.touch([make_lead(12, waiting_since=None).pk])  # not on any day of the rollup
    cache.clear()
    page = agent_client.get("/").content.decode()

    def shown(name: str) -> str:
        return re.search(rf'id="count-{name}">([\d,]+)<', page).group(1)

    assert (shown("leads"), shown("other"), shown("missing")) == ("7", "2", "2")
