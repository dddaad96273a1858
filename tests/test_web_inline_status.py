"""A row's status changed in place (htmx): the PUT sent, the row re-rendered with the outcome."""

import pytest

from leads.models import Lead
from tests.factories import BOT_ID, CUSTOMER_ID, SANDBOX_TOKEN, make_lead

pytestmark = pytest.mark.django_db(transaction=True)


def test_inline_status_change_sends_the_put_and_rerenders_the_row(agent_client, botpenguin):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    response = agent_client.post(
        f"/leads/{lead.uuid}/row-status/",
        {"status": "REVIEW", "query": "status=OPEN&page=2"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith(f'<tr data-uuid="{lead.uuid}"')
    assert '<span class="st st-REVIEW">Review</span>' in html
    assert f'href="/leads/{lead.uuid}/?status=OPEN"' in html
    assert response["HX-Trigger"] == "changes-updated"  # the nav badges refresh at once
    (put,) = botpenguin.sandbox.puts()
    assert put.body == {
        "uuid": lead.uuid,
        "botId": BOT_ID,
        "customerId": CUSTOMER_ID,
        "status": "REVIEW",
    }
    assert put.headers["x-bp-token"] == SANDBOX_TOKEN and "x-bot-token" not in put.headers
    assert put.status == 200
    lead.refresh_from_db()
    assert lead.status == "REVIEW"
    assert botpenguin.sandbox.get_chat(lead.uuid)["status"] == "REVIEW"


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("400", "sandbox: injected HTTP 400"),
        ("401", "BotPenguin rejected the API token."),
    ],
)
def test_inline_status_refused_keeps_the_row_and_shows_why(
    agent_client, botpenguin, fault, message
):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    if fault == "401":
        botpenguin.sandbox.token = "rotated"
    else:
        botpenguin.sandbox.fail_next(1, status=400)
    response = agent_client.post(
        f"/leads/{lead.uuid}/row-status/", {"status": "CLOSED"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert message in html and 'role="alert"' in html
    assert '<span class="st st-OPEN">Open</span>' in html
    lead.refresh_from_db()
    assert lead.status == "OPEN"
    assert SANDBOX_TOKEN not in html


def test_inline_status_while_botpenguin_is_down_is_kept_pending(agent_client, botpenguin):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    botpenguin.sandbox.fail_puts = True
    response = agent_client.post(
        f"/leads/{lead.uuid}/row-status/", {"status": "CLOSED"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "Saved — will be sent to BotPenguin when it is reachable." in html
    assert '<span class="st st-CLOSED">Closed</span>' in html and ">Pending<" in html
    lead.refresh_from_db()
    assert (lead.status, lead.change_state, lead.pending_fields) == (
        "CLOSED",
        "pending",
        ["status"],
    )


def test_inline_status_conflict_shows_the_current_value(agent_client, botpenguin):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    seen_version = lead.version
    Lead.objects.filter(pk=lead.pk).update(status="REVIEW", version=seen_version + 1)  # a sync
    response = agent_client.post(
        f"/leads/{lead.uuid}/row-status/",
        {"status": "CLOSED", "version": str(seen_version)},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "Changed meanwhile to Review (you chose Closed)" in html
    assert '<span class="st st-REVIEW">Review</span>' in html
    assert botpenguin.sandbox.puts() == []
    assert f'data-v="{seen_version + 1}"' in html  # the version a next choice is made against


def test_inline_status_must_be_one_of_the_six(agent_client, botpenguin):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    response = agent_client.post(
        f"/leads/{lead.uuid}/row-status/", {"status": "WON"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400
    assert "Choose one of the six statuses." in response.content.decode()
    assert botpenguin.sandbox.puts() == []


def test_inline_status_without_htmx_redirects_with_a_message(agent_client, botpenguin):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    response = agent_client.post(
        f"/leads/{lead.uuid}/row-status/", {"status": "ONHOLD"}, follow=True
    )
    assert "status set to On hold" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).status == "ONHOLD"
