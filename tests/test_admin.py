"""The Django admin goes through the same service: the PUT is sent, a refusal is a form error."""

import pytest

from leads.models import Lead, LeadChange
from tests.factories import BOT_ID, CUSTOMER_ID, make_lead

pytestmark = pytest.mark.django_db(transaction=True)


def form_data(lead, **overrides):
    data = {
        "name": lead.name,
        "email": lead.email,
        "dial_code": lead.dial_code,
        "phone": lead.phone,
        "picture": lead.picture,
        "status": lead.status,
        "agent_id": lead.agent_id,
        "tags_text": ", ".join(lead.tags),
    }
    data.update(overrides)
    return data


def change_url(lead):
    return f"/admin/leads/lead/{lead.pk}/change/"


def test_changelist_has_filters_and_search(staff_client, botpenguin):
    make_lead(1, name="Meera Iyer")
    make_lead(2, name="Arjun", status="CLOSED")
    response = staff_client.get("/admin/leads/lead/?q=meera")
    html = response.content.decode()
    assert response.status_code == 200 and "Meera Iyer" in html and "Arjun" not in html
    assert "By status" in html and "By is lead" in html
    assert staff_client.get("/admin/leads/lead/?status__exact=CLOSED").status_code == 200


def test_saving_sends_the_put_then_updates_the_mirror(staff_client, botpenguin):
    lead = make_lead(1, sandbox=botpenguin.sandbox, tags=["a"])
    response = staff_client.post(
        change_url(lead), form_data(lead, status="ONHOLD", tags_text="a, b ,c", name="Meera I.")
    )
    assert response.status_code == 302
    (put,) = botpenguin.sandbox.puts()
    assert put.body == {
        "uuid": lead.uuid,
        "botId": BOT_ID,
        "customerId": CUSTOMER_ID,
        "name": "Meera I.",
        "status": "ONHOLD",
        "tags": ["a", "b", "c"],
    }
    lead.refresh_from_db()
    assert (lead.name, lead.status, lead.tags) == ("Meera I.", "ONHOLD", ["a", "b", "c"])
    assert LeadChange.objects.get().action == "admin"


def test_a_refusal_is_a_form_error_and_nothing_is_saved(staff_client, botpenguin):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    botpenguin.sandbox.fail_next(1, status=400, method="PUT")
    response = staff_client.post(change_url(lead), form_data(lead, status="CLOSED"))
    assert response.status_code == 200
    assert "BotPenguin did not accept the change" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).status == "OPEN"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "nope"}, "Enter a valid email address."),
        ({"dial_code": "44"}, "Dial code must be"),
        ({"picture": "javascript:alert(1)"}, "The picture must be an http(s) URL."),
        ({"tags_text": "a, A"}, "is there twice"),
        ({"tags_text": "x" * 51}, "A tag is 1–50 characters."),
    ],
)
def test_admin_validation_sends_nothing(staff_client, botpenguin, overrides, message):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    response = staff_client.post(change_url(lead), form_data(lead, **overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert botpenguin.sandbox.puts() == []


def test_no_adding_or_deleting_leads_in_the_admin(staff_client, botpenguin):
    lead = make_lead(1)
    assert staff_client.get("/admin/leads/lead/add/").status_code == 403
    assert (
        staff_client.post(f"/admin/leads/lead/{lead.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert Lead.objects.filter(pk=lead.pk).exists()


def test_sync_runs_and_changes_are_read_only(staff_client, botpenguin):
    assert staff_client.get("/admin/leads/syncrun/").status_code == 200
    assert staff_client.get("/admin/leads/leadchange/").status_code == 200
    assert staff_client.get("/admin/leads/syncrun/add/").status_code == 403


def test_the_put_is_sent_outside_any_transaction(staff_client, botpenguin, monkeypatch):
    """Django's admin runs a POST in one transaction: the edit must not hold it (and SQLite's
    write lock) while BotPenguin answers."""
    from django.db import connection

    from leads.botpenguin.client import BotPenguinClient

    in_transaction = []
    put_lead = BotPenguinClient.put_lead

    def watched_put_lead(self, body):
        in_transaction.append(connection.in_atomic_block)
        return put_lead(self, body)

    monkeypatch.setattr(BotPenguinClient, "put_lead", watched_put_lead)
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    response = staff_client.post(change_url(lead), form_data(lead, status="CLOSED"))
    assert response.status_code == 302
    assert in_transaction == [False]
    assert Lead.objects.get(pk=lead.pk).status == "CLOSED"
