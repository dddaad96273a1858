"""How long a lead has waited: since it arrived while Open, since its status last changed
otherwise; set by the sync (from what BotPenguin lists) and by a person's status edit."""

import copy
from datetime import UTC, datetime

import pytest
import requests
from django.utils import timezone

from leads import services
from leads.models import Lead
from leads.sync.run import sync_leads
from tests.factories import BOT_ID, CUSTOMER_ID, SANDBOX_TOKEN, make_chat

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def put_as_api(botpenguin, body: dict) -> None:
    response = requests.put(
        f"{botpenguin.url}/inbox/direct/lead",
        json={"botId": BOT_ID, "customerId": CUSTOMER_ID, **body},
        headers={"x-bp-token": SANDBOX_TOKEN},
        timeout=5,
    )
    assert response.status_code == 200, response.text


def test_an_open_lead_waits_since_it_arrived_another_since_it_was_updated(botpenguin):
    open_chat, review_chat = make_chat(1, status="OPEN"), make_chat(2, status="REVIEW")
    for chat in (open_chat, review_chat):
        botpenguin.sandbox.add_chat(copy.deepcopy(chat), is_lead=True)
    sync_leads(kinds=["lead"])

    assert Lead.objects.get(uuid=open_chat["uuid"]).waiting_since == parse(open_chat["createdAt"])
    assert Lead.objects.get(uuid=review_chat["uuid"]).waiting_since == parse(
        review_chat["updatedAt"]
    )


def test_a_status_change_seen_by_a_sync_restarts_the_wait_and_other_changes_do_not(botpenguin):
    chat = make_chat(1, status="OPEN")
    botpenguin.sandbox.add_chat(copy.deepcopy(chat), is_lead=True)
    sync_leads(kinds=["lead"])
    arrived = parse(chat["createdAt"])

    put_as_api(botpenguin, {"uuid": chat["uuid"], "tags": ["vip"]})
    sync_leads(kinds=["lead"], full=True)
    lead = Lead.objects.get(uuid=chat["uuid"])
    assert lead.tags == ["vip"] and lead.waiting_since == arrived

    put_as_api(botpenguin, {"uuid": chat["uuid"], "status": "REVIEW"})
    sync_leads(kinds=["lead"], full=True)
    lead = Lead.objects.get(uuid=chat["uuid"])
    assert lead.status == "REVIEW"
    assert lead.waiting_since == lead.remote_updated_at
    assert lead.waiting_since > arrived


def test_a_status_edit_restarts_the_wait_and_a_tag_edit_does_not(botpenguin, user):
    chat = make_chat(1, status="OPEN")
    botpenguin.sandbox.add_chat(copy.deepcopy(chat), is_lead=True)
    sync_leads(kinds=["lead"])
    lead = Lead.objects.get(uuid=chat["uuid"])

    services.lead_add_tag(lead=lead, tag="vip", user=user)
    lead.refresh_from_db()
    assert lead.waiting_since == parse(chat["createdAt"])

    before = timezone.now()
    services.lead_set_status(lead=lead, status="INPROGRESS", user=user)
    lead.refresh_from_db()
    assert lead.waiting_since >= before
    # The next sync lists the delivered status: the wait is not restarted again.
    waited = lead.waiting_since
    sync_leads(kinds=["lead"], full=True)
    lead.refresh_from_db()
    assert lead.status == "INPROGRESS"
    assert lead.waiting_since == waited
