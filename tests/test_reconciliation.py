"""A delivered edit is checked by the next sync that lists the chat: kept, it is verified and
nothing shows; accepted but not kept (the PUT answered 200, BotPenguin still lists the old
value), the mirror shows BotPenguin's value and the lead and its history say so. Against the
sandbox over HTTP, on SQLite and PostgreSQL."""

from datetime import timedelta

import pytest
import requests
from django.db import transaction

from leads import services
from leads.models import Lead, LeadChange
from leads.sync.rows import build_page
from leads.sync.run import sync_leads
from leads.sync.writer import LeadColumns, write_batch
from tests.factories import BOT_ID, CUSTOMER_ID, SANDBOX_TOKEN, env_bot, fill

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

NOT_KEPT = "BotPenguin did not keep this edit"


def listed_status(botpenguin, uuid: str) -> str:
    """The chat's status as BotPenguin holds it (the sandbox's control API)."""
    response = requests.get(
        f"{botpenguin.url}/_sandbox/chats/{uuid}", headers={"x-bot-token": SANDBOX_TOKEN}, timeout=5
    )
    return response.json()["status"]


@pytest.fixture
def mirrored(botpenguin):
    """Three chats mirrored by a first sync; returns the lead edited in each test (status OPEN)."""
    fill(botpenguin, 3)
    assert sync_leads(full=True).state == "succeeded"
    return Lead.objects.get(status="OPEN")


def edit_status(lead: Lead, user, status: str = "CLOSED") -> LeadChange:
    change = services.lead_set_status(lead=lead, status=status, user=user)
    assert change.state == LeadChange.State.DELIVERED
    return change


def test_a_kept_edit_is_verified_and_shows_nothing(botpenguin, mirrored, user):
    change = edit_status(mirrored, user)

    run = sync_leads(full=True)

    lead = Lead.objects.get(pk=mirrored.pk)
    change.refresh_from_db()
    assert (run.state, run.updated) == ("succeeded", 1)
    assert lead.status == "CLOSED" and lead.change_state == ""
    assert change.state == LeadChange.State.DELIVERED and change.verified_at is not None
    assert change.last_error == ""


def test_an_edit_accepted_but_not_kept_is_marked(botpenguin, mirrored, user, agent_client):
    botpenguin.sandbox.ignore_puts = True
    change = edit_status(mirrored, user)
    assert Lead.objects.get(pk=mirrored.pk).status == "CLOSED"  # until the sync looks
    assert listed_status(botpenguin, mirrored.uuid) == "OPEN"

    run = sync_leads(full=True)

    lead = Lead.objects.get(pk=mirrored.pk)
    change.refresh_from_db()
    assert run.state == "succeeded"
    assert lead.status == "OPEN" and lead.change_state == "not_kept"
    assert change.state == LeadChange.State.NOT_KEPT and change.last_error == NOT_KEPT
    assert change.get_state_display() == "Not kept by BotPenguin"
    page = agent_client.get(f"/leads/{lead.uuid}/").content.decode()
    assert NOT_KEPT in page and "not kept by BotPenguin" in page
    listing = agent_client.get("/leads/").content.decode()
    assert "Not kept" in listing


def test_an_incremental_sync_reconciles_when_it_lists_the_chat(botpenguin, mirrored, user):
    botpenguin.sandbox.ignore_puts = True
    change = edit_status(mirrored, user)
    botpenguin.sandbox.ignore_puts = False
    # Someone else changes the chat at BotPenguin, so the incremental listing includes it.
    response = requests.put(
        f"{botpenguin.url}/inbox/direct/lead",
        json={"botId": BOT_ID, "customerId": CUSTOMER_ID, "uuid": mirrored.uuid, "name": "Renamed"},
        headers={"x-bp-token": SANDBOX_TOKEN},
        timeout=5,
    )
    assert response.status_code == 200

    run = sync_leads()

    lead = Lead.objects.get(pk=mirrored.pk)
    change.refresh_from_db()
    assert (run.state, run.full) == ("succeeded", False)
    assert (lead.name, lead.status, lead.change_state) == ("Renamed", "OPEN", "not_kept")
    assert change.state == LeadChange.State.NOT_KEPT


@pytest.mark.parametrize("ignored", [False, True], ids=["kept", "not-kept"])
def test_a_second_sync_changes_nothing_more(botpenguin, mirrored, user, ignored):
    botpenguin.sandbox.ignore_puts = ignored
    change = edit_status(mirrored, user)
    sync_leads(full=True)
    before = Lead.objects.get(pk=mirrored.pk)
    change.refresh_from_db()

    run = sync_leads(full=True)

    after = Lead.objects.get(pk=mirrored.pk)
    again = LeadChange.objects.get(pk=change.pk)
    assert (run.updated, run.created, run.unchanged) == (0, 0, 3)
    assert (after.status, after.change_state, after.version, after.raw_hash) == (
        before.status,
        before.change_state,
        before.version,
        before.raw_hash,
    )
    assert (again.state, again.verified_at, again.last_error) == (
        change.state,
        change.verified_at,
        change.last_error,
    )


def test_the_mark_clears_when_the_next_edit_is_delivered(botpenguin, mirrored, user):
    botpenguin.sandbox.ignore_puts = True
    first = edit_status(mirrored, user)
    sync_leads(full=True)
    botpenguin.sandbox.ignore_puts = False

    edit_status(Lead.objects.get(pk=mirrored.pk), user, "REVIEW")

    lead = Lead.objects.get(pk=mirrored.pk)
    assert (lead.status, lead.change_state) == ("REVIEW", "")
    assert (
        LeadChange.objects.get(pk=first.pk).state == LeadChange.State.NOT_KEPT
    )  # history keeps it
    sync_leads(full=True)
    assert Lead.objects.get(pk=mirrored.pk).change_state == ""


def test_a_listing_older_than_the_delivery_keeps_the_edit_for_the_next_sync(
    botpenguin, mirrored, user
):
    """A sync that started before the PUT may have read the page before it: the edit's values stay
    and the check waits for the next sync."""
    botpenguin.sandbox.ignore_puts = True
    change = edit_status(mirrored, user)
    chat = requests.get(
        f"{botpenguin.url}/_sandbox/chats/{mirrored.uuid}",
        headers={"x-bot-token": SANDBOX_TOKEN},
        timeout=5,
    ).json()
    started = change.delivered_at - timedelta(seconds=30)
    columns = LeadColumns(bot_id=env_bot().pk, sync_time=started)

    with transaction.atomic():
        write_batch(columns, build_page([chat], is_lead=True).rows)

    lead = Lead.objects.get(pk=mirrored.pk)
    change.refresh_from_db()
    assert (lead.status, lead.change_state) == ("CLOSED", "")
    assert (change.state, change.verified_at) == (LeadChange.State.DELIVERED, None)
    sync_leads(full=True)
    lead = Lead.objects.get(pk=mirrored.pk)
    assert (lead.status, lead.change_state) == ("OPEN", "not_kept")


def test_a_field_with_a_newer_pending_edit_is_not_judged(botpenguin, mirrored, user):
    botpenguin.sandbox.ignore_puts = True
    first = edit_status(mirrored, user)
    botpenguin.sandbox.ignore_puts = False
    botpenguin.sandbox.fail_puts = True
    second = services.lead_set_status(
        lead=Lead.objects.get(pk=mirrored.pk), status="REVIEW", user=user
    )
    assert second.state == LeadChange.State.PENDING

    sync_leads(full=True)

    lead = Lead.objects.get(pk=mirrored.pk)
    first.refresh_from_db()
    assert (lead.status, lead.change_state) == ("REVIEW", "pending")
    assert first.state == LeadChange.State.DELIVERED and first.verified_at is not None
