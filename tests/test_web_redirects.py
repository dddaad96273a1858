"""Where a POST sends the person back to: its `next` when that is a page of this site, else the
page's usual place. Another host, another scheme or a malformed `next` never leaves the site or
fails the request."""

import pytest

from leads.models import SyncRun
from leads.sync.run import take_sync_lease
from tests.factories import env_bot, make_lead

pytestmark = pytest.mark.django_db

# (the posted `next`, where the person lands with the page's fallback `back`)
CASES = [
    ("https://evil.example/phish", None),
    ("//evil.example/phish", None),
    ("http://testserver.evil.example/", None),
    ("javascript:alert(1)", None),
    ("a:b", None),
    ("leads:home", None),  # never looked up as a URL name
    ("", None),
    ("/leads/?status=OPEN&page=2", "/leads/?status=OPEN&page=2"),
    ("http://testserver/activity/", "http://testserver/activity/"),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("next_url", "expected"), CASES)
def test_inline_status_without_htmx_goes_back_to_next_or_the_list(
    agent_client, botpenguin, next_url, expected
):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    response = agent_client.post(
        f"/leads/{lead.uuid}/row-status/", {"status": "REVIEW", "next": next_url}
    )
    assert response.status_code == 302
    assert response["Location"] == (expected or "/leads/")


@pytest.mark.parametrize(("next_url", "expected"), CASES)
def test_sync_now_goes_back_to_next_or_home(staff_client, next_url, expected):
    response = staff_client.post("/sync/now/", {"next": next_url})
    assert response.status_code == 302
    assert response["Location"] == (expected or "/")
    assert SyncRun.objects.count() == 1


@pytest.mark.parametrize(("next_url", "expected"), CASES)
def test_sync_now_refused_goes_back_to_next_or_home(staff_client, next_url, expected):
    take_sync_lease(bot_id=env_bot().pk, holder="someone")
    response = staff_client.post("/sync/now/", {"next": next_url})
    assert response.status_code == 302
    assert response["Location"] == (expected or "/")
    assert SyncRun.objects.count() == 0


@pytest.mark.parametrize(("next_url", "expected"), CASES)
def test_retrying_failed_edits_goes_back_to_next_or_the_activity(staff_client, next_url, expected):
    response = staff_client.post("/changes/retry-failed/", {"next": next_url})
    assert response.status_code == 302
    assert response["Location"] == (expected or "/activity/")


def test_over_https_a_next_over_plain_http_is_not_followed(staff_client, settings):
    settings.SECURE_SSL_REDIRECT = False
    response = staff_client.post(
        "/changes/retry-failed/", {"next": "http://testserver/leads/"}, secure=True
    )
    assert response["Location"] == "/activity/"
    response = staff_client.post(
        "/changes/retry-failed/", {"next": "https://testserver/leads/"}, secure=True
    )
    assert response["Location"] == "https://testserver/leads/"


@pytest.mark.parametrize(
    "data",
    [
        {"action": "set_status", "status": "", "selected": ["x"]},  # refused: nothing to do
        {"action": "add_tag", "tag": "vip", "selected": ["nobody"]},  # no such lead: nothing
    ],
)
@pytest.mark.parametrize(
    "query", ["", "status=OPEN&tag=vip", "a:b", "//evil.example", "https://evil.example/"]
)
def test_a_bulk_action_goes_back_to_the_list_it_came_from(agent_client, data, query):
    """The bulk form posts the list's filters (`query`), never a URL: the person lands on the
    list with those filters, whatever the query holds (and a `next` is not followed)."""
    response = agent_client.post(
        "/leads/bulk/", {**data, "query": query, "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/leads/" + (f"?{query}" if query else "")
