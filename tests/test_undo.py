"""Undo: after a status, tag, assignment or bulk change the person is offered an Undo that sends
the reverse edit through the same path (a PUT with the previous values), recorded in the
history like any edit; a bulk undo puts each lead back, skipping those changed since; only the
person who made the edit can undo it, and only for a minute."""

import re
import time

import pytest
from django.core import signing
from django.test import Client

from leads import services
from leads.models import Lead, LeadChange
from tests.factories import BOT_ID, CUSTOMER_ID, history_sentences, link, make_lead

pytestmark = pytest.mark.django_db(transaction=True)

ASHA_ID = "64a1a9d0aa00000000000042"


def offered(client, **headers) -> dict:
    """The undo on offer as the toast shows it (its token and where it sends back), or {}."""
    response = client.get("/undo/toast/", **headers)
    if response.status_code == 204:
        return {}
    html = response.content.decode()
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    back = re.search(r'name="next" value="([^"]*)"', html).group(1)
    text = " ".join(re.sub(r"<[^>]+>", " ", html.split('class="undo-text small">')[1]).split())
    return {"token": token, "next": back, "text": text.split(" Undo")[0]}


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def bodies(sandbox, lead) -> list[dict]:
    return [put.body for put in sandbox.puts(lead.uuid)]


def ids(lead) -> dict:
    return {"uuid": lead.uuid, "botId": BOT_ID, "customerId": CUSTOMER_ID}


def fresh(lead) -> Lead:
    return Lead.objects.get(pk=lead.pk)


def test_undo_of_a_status_change_puts_botpenguins_previous_value_back(botpenguin, agent_client):
    sandbox = botpenguin.sandbox
    lead = make_lead(1, sandbox=sandbox, status="OPEN")
    url = f"/leads/{lead.uuid}/"
    agent_client.post(f"{url}edit/status/", {"status": "REVIEW", "version": lead.version})
    offer = offered(agent_client)
    assert offer["text"] == "Person 1: status Open → Review"
    response = agent_client.post("/undo/", {"token": offer["token"], "next": url}, follow=True)
    assert response.redirect_chain == [(url, 302)]
    assert "Undone: Person 1 is back as it was." in messages_of(response)
    assert bodies(sandbox, lead) == [
        {**ids(lead), "status": "REVIEW"},
        {**ids(lead), "status": "OPEN"},
    ]
    assert sandbox.get_chat(lead.uuid)["status"] == "OPEN"
    assert fresh(lead).status == "OPEN"
    undo = LeadChange.objects.latest("id")
    assert (undo.action, undo.before, undo.after) == (
        "undo",
        {"status": "REVIEW"},
        {"status": "OPEN"},
    )
    assert undo.state == LeadChange.State.DELIVERED and undo.user.username == "agent"
    assert history_sentences(response.content.decode())[:2] == [
        "undo: status Review → Open",
        "status Open → Review",
    ]


def test_undo_of_a_tag_added_and_of_one_removed(botpenguin, agent_client):
    sandbox = botpenguin.sandbox
    lead = make_lead(1, sandbox=sandbox, tags=["spam"])
    url = f"/leads/{lead.uuid}/"
    agent_client.post(f"{url}edit/tags/", {"tag": "vip"})
    agent_client.post("/undo/", {"token": offered(agent_client)["token"], "next": url})
    agent_client.post(f"{url}edit/tags/", {"remove": "spam"})
    agent_client.post("/undo/", {"token": offered(agent_client)["token"], "next": url})
    assert [body["tags"] for body in bodies(sandbox, lead)] == [
        ["spam", "vip"],
        ["spam"],
        [],
        ["spam"],
    ]
    assert sandbox.get_chat(lead.uuid)["profile"]["userDetails"]["tags"] == ["spam"]


def test_undo_of_an_assignment_by_an_agent(botpenguin, user):
    sandbox = botpenguin.sandbox
    link(user, ASHA_ID)
    lead = make_lead(1, sandbox=sandbox)
    change = services.lead_assign_to_me(lead=lead, user=user)
    result = services.changes_undo(change_ids=[change.pk], user=user)
    assert len(result.restored) == 1
    assert bodies(sandbox, lead) == [
        {**ids(lead), "agentId": ASHA_ID},
        {**ids(lead), "agentId": ""},
    ]
    assert fresh(lead).agent_id == ""


def test_after_an_inline_status_change_the_toast_is_fetched_and_undoes_it(botpenguin, agent_client):
    sandbox = botpenguin.sandbox
    lead = make_lead(1, sandbox=sandbox, status="OPEN")
    htmx = {
        "HTTP_HX_REQUEST": "true",
        "HTTP_HX_CURRENT_URL": "http://testserver/leads/?status=OPEN",
    }
    response = agent_client.post(
        f"/leads/{lead.uuid}/row-status/", {"status": "CLOSED", "version": lead.version}, **htmx
    )
    assert response.status_code == 200
    offer = offered(agent_client, **htmx)
    assert offer["next"] == "/leads/?status=OPEN"
    assert offer["text"] == "Person 1: status Open → Closed"
    assert offered(agent_client, **htmx) == {}  # shown once
    response = agent_client.post("/undo/", {"token": offer["token"], "next": offer["next"]})
    assert response["Location"] == "/leads/?status=OPEN"
    assert [b["status"] for b in bodies(sandbox, lead)] == ["CLOSED", "OPEN"]


def test_no_undo_is_offered_after_a_note_or_nothing_changed(botpenguin, agent_client):
    lead = make_lead(1, sandbox=botpenguin.sandbox, status="OPEN")
    agent_client.post(f"/leads/{lead.uuid}/edit/note/", {"title": "Hi", "description": ""})
    assert offered(agent_client) == {}
    agent_client.post(f"/leads/{lead.uuid}/edit/status/", {"status": "OPEN"})
    assert offered(agent_client) == {}


def test_a_bulk_undo_restores_each_leads_value_and_skips_those_changed_since(
    botpenguin, agent_client, lead_admin
):
    sandbox = botpenguin.sandbox
    leads = [
        make_lead(n, sandbox=sandbox, status=status)
        for n, status in enumerate(["OPEN", "REVIEW", "ONHOLD", "CLOSED"])
    ]
    agent_client.post(
        "/leads/bulk/",
        {"action": "set_status", "status": "CLOSED", "selected": [x.uuid for x in leads]},
    )
    offer = offered(agent_client)
    assert offer["text"] == "3 leads changed"
    services.lead_set_status(lead=leads[2], status="INPROGRESS", user=lead_admin)
    sandbox.clear_requests()
    response = agent_client.post("/undo/", {"token": offer["token"]}, follow=True)
    assert "Undone: 2 leads put back, 1 skipped: changed since by someone else." in messages_of(
        response
    )
    assert [fresh(x).status for x in leads] == ["OPEN", "REVIEW", "INPROGRESS", "CLOSED"]
    assert {put.body["uuid"]: put.body["status"] for put in sandbox.puts()} == {
        leads[0].uuid: "OPEN",
        leads[1].uuid: "REVIEW",
    }
    assert LeadChange.objects.filter(action="undo").count() == 2


def test_nobody_can_undo_another_persons_change(botpenguin, agent_client, lead_admin):
    sandbox = botpenguin.sandbox
    lead = make_lead(1, sandbox=sandbox, status="OPEN")
    agent_client.post(f"/leads/{lead.uuid}/edit/status/", {"status": "REVIEW"})
    token = offered(agent_client)["token"]
    other = Client()
    other.force_login(lead_admin)
    response = other.post("/undo/", {"token": token}, follow=True)
    assert messages_of(response) == ["Only the person who made an edit can undo it."]
    assert [b["status"] for b in bodies(sandbox, lead)] == ["REVIEW"]
    assert fresh(lead).status == "REVIEW"
    # Nor through the service with the change's id.
    change = LeadChange.objects.get()
    assert services.changes_undo(change_ids=[change.pk], user=lead_admin).changes == []
    assert fresh(lead).status == "REVIEW"


def test_an_expired_or_damaged_token_is_refused(botpenguin, agent_client, user, monkeypatch):
    sandbox = botpenguin.sandbox
    lead = make_lead(1, sandbox=sandbox, status="OPEN")
    change = services.lead_set_status(lead=lead, status="REVIEW", user=user)
    real = time.time
    with monkeypatch.context() as patched:
        patched.setattr(signing.time, "time", lambda: real() - 61)
        token = services.undo_token(change_ids=[change.pk], user=user)
    response = agent_client.post("/undo/", {"token": token}, follow=True)
    assert messages_of(response) == ["Too late to undo: it is offered for 60 seconds."]
    response = agent_client.post("/undo/", {"token": token[:-2] + "xx"}, follow=True)
    assert messages_of(response) == ["This undo link is not valid."]
    assert [b["status"] for b in bodies(sandbox, lead)] == ["REVIEW"]
    # A slow click within the minute is still accepted.
    with monkeypatch.context() as patched:
        patched.setattr(signing.time, "time", lambda: real() - 50)
        token = services.undo_token(change_ids=[change.pk], user=user)
    agent_client.post("/undo/", {"token": token})
    assert fresh(lead).status == "OPEN"


def test_undo_while_botpenguin_is_down_is_kept_and_sent_later(botpenguin, agent_client, user):
    sandbox = botpenguin.sandbox
    lead = make_lead(1, sandbox=sandbox, status="OPEN")
    change = services.lead_set_status(lead=lead, status="REVIEW", user=user)
    sandbox.fail_next(10, status=503)
    token = services.undo_token(change_ids=[change.pk], user=user)
    response = agent_client.post("/undo/", {"token": token}, follow=True)
    assert services.SAVED_PENDING in messages_of(response)
    assert fresh(lead).status == "OPEN"
    assert LeadChange.objects.get(action="undo").state == LeadChange.State.PENDING


def test_undo_needs_the_triage_role(client, nobody, botpenguin, user):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    change = services.lead_set_status(lead=lead, status="REVIEW", user=user)
    client.force_login(nobody)
    token = services.undo_token(change_ids=[change.pk], user=nobody)
    assert client.post("/undo/", {"token": token}).status_code == 403
    assert fresh(lead).status == "REVIEW"
