"""Status history (StatusChange): every status a lead went through, written by the sync (what
BotPenguin lists) and by the delivery of a person's edit; a lead's first status is its starting
point, and an installation upgraded with leads in it starts from what they show now."""

import copy
from datetime import UTC, datetime

import pytest
import requests
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from leads import services
from leads.models import Lead, StatusChange
from leads.sync.run import sync_leads
from tests.factories import BOT_ID, CUSTOMER_ID, SANDBOX_TOKEN, env_bot, make_chat

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


def history(uuid: str) -> list[tuple]:
    return [
        (c.from_status, c.to_status, c.source, c.user_id)
        for c in StatusChange.objects.filter(lead__uuid=uuid).order_by("at", "id")
    ]


def test_a_new_chat_starts_at_its_listed_status_dated_when_it_arrived(botpenguin):
    chats = [make_chat(1, status="OPEN"), make_chat(2, status="CLOSED")]
    for chat in chats:
        botpenguin.sandbox.add_chat(copy.deepcopy(chat), is_lead=True)
    sync_leads(kinds=["lead"])
    sync_leads(kinds=["lead"], full=True)  # nothing new: nothing more

    for chat in chats:
        (start,) = StatusChange.objects.filter(lead__uuid=chat["uuid"])
        assert (start.from_status, start.to_status, start.source) == ("", chat["status"], "start")
        assert start.at == parse(chat["createdAt"])
        assert start.bot == env_bot()


def test_a_status_botpenguin_lists_is_a_transition_dated_by_updated_at(botpenguin):
    chat = make_chat(1, status="OPEN")
    botpenguin.sandbox.add_chat(copy.deepcopy(chat), is_lead=True)
    sync_leads(kinds=["lead"])

    put_as_api(botpenguin, {"uuid": chat["uuid"], "tags": ["vip"]})  # not a status change
    sync_leads(kinds=["lead"], full=True)
    put_as_api(botpenguin, {"uuid": chat["uuid"], "status": "CLOSED"})
    sync_leads(kinds=["lead"])
    put_as_api(botpenguin, {"uuid": chat["uuid"], "status": "OPEN"})  # back from Closed
    sync_leads(kinds=["lead"])

    assert history(chat["uuid"]) == [
        ("", "OPEN", "start", None),
        ("OPEN", "CLOSED", "botpenguin", None),
        ("CLOSED", "OPEN", "botpenguin", None),
    ]
    last = StatusChange.objects.filter(lead__uuid=chat["uuid"]).last()
    assert last.at == Lead.objects.get(uuid=chat["uuid"]).remote_updated_at


def test_a_persons_status_edit_is_recorded_when_delivered_and_not_again_by_the_sync(
    botpenguin, user
):
    chat = make_chat(1, status="OPEN")
    botpenguin.sandbox.add_chat(copy.deepcopy(chat), is_lead=True)
    sync_leads(kinds=["lead"])
    lead = Lead.objects.get(uuid=chat["uuid"])

    botpenguin.sandbox.fail_next(1, status=503, method="PUT")
    change = services.lead_set_status(lead=lead, status="REVIEW", user=user)
    assert change.state == "pending"
    assert history(lead.uuid) == [("", "OPEN", "start", None)]  # not accepted yet

    services.lead_set_status(lead=lead, status="INPROGRESS", user=user)  # both go in one PUT
    sync_leads(kinds=["lead"], full=True)

    assert history(lead.uuid) == [
        ("", "OPEN", "start", None),
        ("OPEN", "INPROGRESS", "botpanel", user.pk),
    ]
    recorded = StatusChange.objects.get(source="botpanel")
    assert recorded.at == recorded.change.created_at
    assert recorded.change.after == {"status": "INPROGRESS"}


def test_a_refused_status_edit_leaves_no_history(botpenguin, user):
    chat = make_chat(1, status="OPEN")
    botpenguin.sandbox.add_chat(copy.deepcopy(chat), is_lead=True)
    sync_leads(kinds=["lead"])
    lead = Lead.objects.get(uuid=chat["uuid"])
    botpenguin.sandbox.fail_next(1, status=400, method="PUT")

    with pytest.raises(services.EditFailed):
        services.lead_set_status(lead=lead, status="CLOSED", user=user)

    assert history(lead.uuid) == [("", "OPEN", "start", None)]


def test_an_upgraded_installation_starts_each_leads_history_at_its_status_now():
    executor = MigrationExecutor(connection)
    executor.migrate([("leads", "0014_workspace")])
    apps = executor.loader.project_state([("leads", "0014_workspace")]).apps
    try:
        bot = apps.get_model("leads", "Bot").objects.create(
            name="Old", api_url="http://127.0.0.1:9", remote_bot_id="b", customer_id="c"
        )
        arrived = datetime(2026, 9, 1, 8, 30, tzinfo=UTC)
        lead_model = apps.get_model("leads", "Lead")
        lead_model.objects.create(bot=bot, uuid="u1", status="REVIEW", remote_created_at=arrived)
        lead_model.objects.create(bot=bot, uuid="u2", status="", remote_updated_at=arrived)
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes("leads"))

    rows = {
        c.lead.uuid: (c.from_status, c.to_status, c.source, c.at)
        for c in StatusChange.objects.select_related("lead")
    }
    assert rows == {
        "u1": ("", "REVIEW", "start", arrived),
        "u2": ("", "", "start", arrived),
    }
