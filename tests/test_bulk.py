"""Bulk actions from the list: on selected rows or on all rows matching the filter."""

import pytest
from django.core.management import call_command

from leads.models import Lead, LeadChange, LeadTag
from tests.factories import BOT_ID, CUSTOMER_ID, make_lead

pytestmark = pytest.mark.django_db(transaction=True)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_set_status_on_three_selected_rows(agent_client, botpenguin):
    leads = [make_lead(n, sandbox=botpenguin.sandbox) for n in range(5)]
    chosen = [leads[0].uuid, leads[2].uuid, leads[4].uuid]
    response = agent_client.post(
        "/leads/bulk/",
        {"action": "set_status", "status": "CLOSED", "selected": chosen, "query": "status=OPEN"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/leads/?status=OPEN"
    assert "Set status to Closed: 3 changed." in messages_of(response)
    assert sorted(p.body["uuid"] for p in botpenguin.sandbox.puts()) == sorted(chosen)
    for put in botpenguin.sandbox.puts():
        assert put.body == {
            "uuid": put.body["uuid"],
            "botId": BOT_ID,
            "customerId": CUSTOMER_ID,
            "status": "CLOSED",
        }
    assert set(Lead.objects.filter(status="CLOSED").values_list("uuid", flat=True)) == set(chosen)
    assert LeadChange.objects.filter(state="delivered").count() == 3


def test_all_matching_the_filter_not_just_the_page(agent_client, botpenguin):
    for n in range(30):
        make_lead(n, sandbox=botpenguin.sandbox, tags=["hot"] if n % 3 == 0 else [])
    response = agent_client.post(
        "/leads/bulk/",
        {"action": "add_tag", "tag": "follow-up", "all_matching": "1", "query": "tag=hot"},
        follow=True,
    )
    assert 'Add tag "follow-up": 10 changed.' in messages_of(response)
    puts = botpenguin.sandbox.puts()
    assert len(puts) == 10
    assert all(p.body["tags"] == ["hot", "follow-up"] for p in puts)
    assert LeadTag.objects.filter(key="follow-up").count() == 10


def test_remove_tag_reports_leads_that_did_not_have_it(agent_client, botpenguin):
    a = make_lead(1, sandbox=botpenguin.sandbox, tags=["Hot", "vip"])
    b = make_lead(2, sandbox=botpenguin.sandbox, tags=["cold"])
    response = agent_client.post(
        "/leads/bulk/",
        {"action": "remove_tag", "tag": "hot", "selected": [a.uuid, b.uuid]},
        follow=True,
    )
    assert 'Remove tag "hot": 1 changed, 1 already so.' in messages_of(response)
    (put,) = botpenguin.sandbox.puts()
    assert put.body["tags"] == ["vip"]
    assert Lead.objects.get(pk=a.pk).tags == ["vip"]


def test_one_failure_is_reported_with_its_reason(agent_client, botpenguin):
    leads = [make_lead(n, sandbox=botpenguin.sandbox) for n in range(3)]
    botpenguin.sandbox.fail_next(1, status=400, method="PUT")
    response = agent_client.post(
        "/leads/bulk/",
        {"action": "set_status", "status": "REVIEW", "selected": [lead.uuid for lead in leads]},
        follow=True,
    )
    msgs = messages_of(response)
    assert "Set status to Review: 2 changed, 1 failed." in msgs
    assert any("sandbox: injected HTTP 400" in m for m in msgs)
    assert Lead.objects.filter(status="REVIEW").count() == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "set_status", "status": "", "selected": ["x"]}, "Choose the status to set."),
        ({"action": "add_tag", "tag": "", "selected": ["x"]}, "A tag is 1–50 characters."),
        ({"action": "add_tag", "tag": "x" * 51, "selected": ["x"]}, "A tag is 1–50 characters."),
        ({"action": "set_status", "status": "OPEN"}, "Select at least one row"),
        ({"action": "explode", "selected": ["x"]}, "Select a valid choice"),
    ],
)
def test_invalid_bulk_requests_send_nothing(agent_client, botpenguin, data, message):
    make_lead(1, sandbox=botpenguin.sandbox)
    response = agent_client.post("/leads/bulk/", data, follow=True)
    assert any(message in m for m in messages_of(response))
    assert botpenguin.sandbox.puts() == []


def test_a_big_bulk_action_sends_the_first_edits_and_queues_the_rest(
    agent_client, botpenguin, settings
):
    settings.BULK_SEND_NOW = 4
    for n in range(12):
        make_lead(n, sandbox=botpenguin.sandbox)
    response = agent_client.post(
        "/leads/bulk/",
        {"action": "set_status", "status": "REVIEW", "all_matching": "1", "query": ""},
        follow=True,
    )
    assert "12 changed, 8 waiting to be sent to BotPenguin" in " ".join(messages_of(response))
    assert len(botpenguin.sandbox.puts()) == 4  # the person did not wait for the other 8
    assert Lead.objects.filter(status="REVIEW").count() == 12  # all shown at once, as pending
    call_command("deliver_changes")
    puts = botpenguin.sandbox.puts()
    assert len(puts) == 12 and {p.body["status"] for p in puts} == {"REVIEW"}
    assert LeadChange.objects.filter(state="delivered").count() == 12
