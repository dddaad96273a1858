"""Upgrading an installation from the release before several bots (migration 0011) keeps every
lead, change (pending ones included) and sync record, attached to the bot it came from, and the
next sync finds the mirror as it was: nothing is re-synced."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import QueryDict

from leads.models import Bot, Lead, LeadChange, SyncRun
from leads.selectors.lists import matching
from leads.sync.run import sync_leads
from tests.factories import BOT_ID, CUSTOMER_ID, fill

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("leads", "0011_change_verified")]
WHEN = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes("leads")


@pytest.fixture
def old_schema():
    """The database as the release before several bots left it; migrated back up afterwards."""
    try:
        yield migrate(BEFORE)
    finally:
        migrate(latest())


def old_lead(apps, n, **fields):
    values = {
        "bot_id": BOT_ID,
        "customer_id": CUSTOMER_ID,
        "uuid": f"00000000-0000-4000-8000-{n:012d}",
        "remote_id": f"{n:024x}",
        "name": f"Person {n}",
        "status": "OPEN",
        "remote_updated_at": WHEN,
    }
    return apps.get_model("leads", "Lead").objects.create(**{**values, **fields})


def test_leads_changes_and_runs_move_to_the_bot_they_came_from(old_schema, settings):
    settings.BOTPENGUIN_BOT_ID = BOT_ID
    settings.BOTPENGUIN_BOT_NAME = "Website"
    apps = old_schema
    ours = [old_lead(apps, n) for n in range(3)]
    other = old_lead(apps, 9, bot_id="another-bot", customer_id="another-customer", name="Zed")
    OldChange = apps.get_model("leads", "LeadChange")
    body = {"uuid": ours[0].uuid, "botId": BOT_ID, "customerId": CUSTOMER_ID, "status": "CLOSED"}
    pending = OldChange.objects.create(
        lead=ours[0], action="status", after={"status": "CLOSED"}, body=body, state="pending"
    )
    delivered = OldChange.objects.create(
        lead=ours[1], action="tags", after={"tags": ["vip"]}, state="delivered"
    )
    apps.get_model("leads", "SyncRun").objects.create(state="succeeded", marks={"lead": "x"})
    apps.get_model("leads", "SyncLease").objects.create(pk=1, owner="")

    migrate(latest())

    website = Bot.objects.get(name="Website")
    assert website.from_environment and not website.has_token
    assert (website.remote_bot_id, website.customer_id) == (BOT_ID, CUSTOMER_ID)
    another = Bot.objects.get(name="another-bot")
    assert not another.from_environment and another.customer_id == "another-customer"
    assert sorted(Lead.objects.filter(bot=website).values_list("pk", flat=True)) == sorted(
        lead.pk for lead in ours
    )
    assert list(Lead.objects.filter(bot=another).values_list("pk", flat=True)) == [other.pk]
    kept = LeadChange.objects.get(pk=pending.pk)
    assert (kept.state, kept.lead_id, kept.body) == ("pending", ours[0].pk, body)
    assert LeadChange.objects.get(pk=delivered.pk).state == "delivered"
    assert SyncRun.objects.get().bot is None  # two bots: whose run it was is not known
    # Search still finds a lead renamed after the upgrade (SQLite rebuilt the table and its
    # search triggers with it).
    Lead.objects.filter(pk=other.pk).update(name="Quintessa")
    found = matching(QueryDict("q=quintess")).values_list("pk", flat=True)
    assert list(found) == [other.pk]


def test_the_next_sync_finds_the_upgraded_mirror_unchanged(old_schema, botpenguin):
    chats = fill(botpenguin, 5)
    apps = old_schema
    for n, chat in enumerate(chats):
        old_lead(apps, n, uuid=chat["uuid"], raw=chat)
    migrate(latest())

    run = sync_leads(full=True)

    assert (run.state, run.created) == ("succeeded", 0)
    assert Lead.objects.count() == 5
    assert run.bot == Bot.objects.get(from_environment=True)
    assert run.bot.leads.count() == 5
