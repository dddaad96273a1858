"""Two BotPenguin servers, two bots: added with addbot, synced by one sync_leads, each edit sent
to its own bot only, a refused token failing only its own bot, and no token anywhere a person or
a log can see."""

import io
import logging

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from leads import services
from leads.botpenguin.sandbox.server import Sandbox
from leads.models import Bot, Lead, LeadChange, SyncRun
from tests.factories import fill

# Threads sync the bots at once: they need committed data and their own connections.
pytestmark = pytest.mark.django_db(transaction=True)

FIRST_TOKEN = "tok-FIRST-e2e-7a1c93"
SECOND_TOKEN = "tok-SECOND-e2e-4b8d21"


@pytest.fixture
def servers(settings):
    """Two sandboxes on two ports with their own tokens and IDs, and no environment bot."""
    settings.BOTPENGUIN_API_TOKEN = ""
    settings.BOTPENGUIN_BOT_ID = ""
    settings.BOTPENGUIN_RETRY_BACKOFF = 0
    settings.BOTPENGUIN_EDIT_TIMEOUT = 2
    first = Sandbox(token=FIRST_TOKEN, bot_id="bot-one", customer_id="cust-one").serve()
    second = Sandbox(token=SECOND_TOKEN, bot_id="bot-two", customer_id="cust-two").serve()
    fill(first, 7, start=0)
    fill(second, 5, start=100)
    fill(second, 2, start=200, is_lead=False)
    try:
        yield first, second
    finally:
        first.shutdown()
        second.shutdown()


def add_bots(first, second, monkeypatch):
    """First through standard input, Second through BOTPENGUIN_API_TOKEN."""
    monkeypatch.delenv("BOTPENGUIN_API_TOKEN", raising=False)
    out = io.StringIO()
    first_ids = ["--bot-id", "bot-one", "--customer-id", "cust-one", "--api-url", first.url]
    call_command("addbot", "First", *first_ids, stdin=io.StringIO(FIRST_TOKEN + "\n"), stdout=out)
    monkeypatch.setenv("BOTPENGUIN_API_TOKEN", SECOND_TOKEN)
    second_ids = ["--bot-id", "bot-two", "--customer-id", "cust-two", "--api-url", second.url]
    call_command("addbot", "Second", *second_ids, stdin=io.StringIO("not-this-one\n"), stdout=out)
    monkeypatch.delenv("BOTPENGUIN_API_TOKEN")
    assert FIRST_TOKEN not in out.getvalue() and SECOND_TOKEN not in out.getvalue()
    return Bot.objects.get(name="First"), Bot.objects.get(name="Second")


def uuids(server) -> set[str]:
    return {chat["uuid"] for chat in server.sandbox.chats()}


def test_two_servers_two_bots_each_edit_reaches_only_its_own_server(
    servers, monkeypatch, admin_user, client, caplog
):
    caplog.set_level(logging.DEBUG)
    first, second = servers
    bot_one, bot_two = add_bots(first, second, monkeypatch)

    out = io.StringIO()
    call_command("sync_leads", "--no-progress", stdout=out)
    assert "First: sync done" in out.getvalue() and "Second: sync done" in out.getvalue()
    assert set(bot_one.leads.values_list("uuid", flat=True)) == uuids(first)
    assert set(bot_two.leads.values_list("uuid", flat=True)) == uuids(second)
    assert SyncRun.objects.filter(bot=bot_one, state="succeeded").count() == 1
    assert SyncRun.objects.filter(bot=bot_two, state="succeeded").count() == 1

    lead = bot_two.leads.filter(is_lead=True).order_by("uuid").first()
    services.lead_set_status(lead=lead, status="CLOSED", user=admin_user)
    assert first.sandbox.puts() == []
    (put,) = second.sandbox.puts(lead.uuid)
    assert put.headers["x-bp-token"] == SECOND_TOKEN
    assert put.body["botId"] == "bot-two" and put.body["customerId"] == "cust-two"
    assert put.body["status"] == "CLOSED"
    assert second.sandbox.get_chat(lead.uuid)["status"] == "CLOSED"

    client.force_login(admin_user)
    pages = [
        "/",
        "/leads/",
        "/leads/?type=non-lead",
        f"/leads/{lead.uuid}/",
        f"/leads/{bot_one.leads.first().uuid}/",
        "/leads/?_export=csv",
        "/leads/?_export=xlsx",
        "/activity/",
        "/healthz",
        "/admin/leads/bot/",
        f"/admin/leads/bot/{bot_one.pk}/change/",
        f"/admin/leads/bot/{bot_two.pk}/change/",
        "/admin/leads/lead/",
        "/admin/leads/syncrun/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        content = b"".join(response) if response.streaming else response.content
        for secret in (FIRST_TOKEN, SECOND_TOKEN, bot_one.token_encrypted):
            assert secret.encode() not in content, url
    health = client.get("/healthz").json()
    assert [(bot["name"], bot["last_sync"]["state"]) for bot in health["bots"]] == [
        ("First", "succeeded"),
        ("Second", "succeeded"),
    ]
    assert FIRST_TOKEN not in caplog.text and SECOND_TOKEN not in caplog.text


def test_a_refused_token_fails_only_its_own_bot(servers, monkeypatch, admin_user, caplog):
    caplog.set_level(logging.DEBUG)
    first, second = servers
    bot_one, bot_two = add_bots(first, second, monkeypatch)
    call_command("sync_leads", "--no-progress", stdout=io.StringIO())
    one = bot_one.leads.filter(is_lead=True).order_by("uuid").first()
    two = bot_two.leads.filter(is_lead=True).order_by("uuid").first()

    # Both servers down: the edits wait. Then the first bot's token is revoked.
    first.sandbox.fail_puts = second.sandbox.fail_puts = True
    services.lead_set_status(lead=one, status="REVIEW", user=admin_user)
    services.lead_set_status(lead=two, status="REVIEW", user=admin_user)
    first.sandbox.fail_puts = second.sandbox.fail_puts = False
    first.sandbox.token = "revoked"  # noqa: S105
    fill(second, 1, start=300)

    err = io.StringIO()
    with pytest.raises(CommandError, match="1 of 2 bots failed: First"):
        call_command("sync_leads", "--no-progress", stdout=io.StringIO(), stderr=err)
    assert "First: sync failed: BotPenguin rejected the API token (HTTP 401)" in err.getvalue()
    assert SyncRun.objects.filter(bot=bot_one).latest("id").state == "failed"
    assert SyncRun.objects.filter(bot=bot_two).latest("id").state == "succeeded"
    assert bot_two.leads.filter(uuid="00000000-0000-4000-8000-000000000300").exists()

    call_command("deliver_changes", stdout=io.StringIO())
    assert LeadChange.objects.get(lead=one).state == "failed"
    assert LeadChange.objects.get(lead=two).state == "delivered"
    assert second.sandbox.get_chat(two.uuid)["status"] == "REVIEW"
    assert Lead.objects.get(pk=one.pk).change_state == "failed"
    assert FIRST_TOKEN not in caplog.text and SECOND_TOKEN not in caplog.text
