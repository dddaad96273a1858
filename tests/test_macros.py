"""Triage macros: defined by lead admins in the Django admin (with its rules), applied by agents
on a lead's page, to the list's selected rows or all matching ones, and by key; each lead gets
one edit, one LeadChange and one PUT carrying every field the macro sets; who may apply one
depends on the fields it changes; and an Undo is offered after it."""

import datetime as dt
import re
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from leads import services
from leads.models import Bot, Lead, LeadChange, Macro
from tests.factories import BOT_ID, CUSTOMER_ID, env_bot, history_sentences, link, make_lead

pytestmark = pytest.mark.django_db(transaction=True)

ASHA_ID = "64a1a9d0aa00000000000042"
LENA_ID = "64a1a9d0aa00000000000077"
PRIYA_ID = "64a1a9d0aa00000000000099"


@pytest.fixture
def team(botpenguin, user, lead_admin, django_user_model):
    priya = django_user_model.objects.create_user(
        username="priya", password="priya-pass-123", first_name="Priya"
    )
    priya.groups.add(*user.groups.all())
    link(user, ASHA_ID)
    link(lead_admin, LENA_ID)
    link(priya, PRIYA_ID)
    return botpenguin.sandbox


def macro(**fields) -> Macro:
    values = {"name": "Call back", "bot": None}
    values.update(fields)
    return Macro.objects.create(**values)


def bodies(sandbox, lead) -> list[dict]:
    return [put.body for put in sandbox.puts(lead.uuid)]


def fresh(lead) -> Lead:
    return Lead.objects.get(pk=lead.pk)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- the service ---------------------------------------------------------------------------------


def test_a_macro_is_one_edit_and_one_put_with_all_its_fields(team, user):
    lead = make_lead(
        1,
        sandbox=team,
        name="Meera",
        email="meera@example.org",
        tags=["new", "hot"],
        notes=[{"id": "n1", "title": "Pricing", "description": "Annual"}],
    )
    callback = macro(
        status="REVIEW",
        assign="me",
        add_tags=["callback"],
        remove_tags=["new"],
        note_title="Called",
        note_template="Called {name} <{email}>; {agent}, {date}. {unknown} {name.__class__}",
    )
    change = services.macro_apply(macro=callback, lead=lead, user=user)
    today = timezone.localdate().isoformat()
    note = {
        "title": "Called",
        "description": f"Called Meera <meera@example.org>; Asha, {today}. {{unknown}} {{name.__class__}}",
    }
    assert bodies(team, lead) == [
        {
            "uuid": lead.uuid,
            "botId": BOT_ID,
            "customerId": CUSTOMER_ID,
            "status": "REVIEW",
            "agentId": ASHA_ID,
            "tags": ["hot", "callback"],
            "notes": [{"title": "Pricing", "description": "Annual"}, note],
        }
    ]
    assert change.action == "macro" and change.state == LeadChange.State.DELIVERED
    assert LeadChange.objects.count() == 1
    chat = team.get_chat(lead.uuid)
    assert (chat["status"], chat["_agentAssigned"]) == ("REVIEW", ASHA_ID)
    assert fresh(lead).tags == ["hot", "callback"]


def test_a_bulk_macro_sends_one_put_per_lead_with_all_its_fields(team, agent_client):
    leads = [make_lead(n, sandbox=team, tags=["new"]) for n in range(3)]
    close = macro(name="Close", status="CLOSED", assign="none", remove_tags=["new"])
    response = agent_client.post(
        f"/macros/{close.pk}/apply/",
        {"selected": [x.uuid for x in leads[:2]], "query": "status=OPEN"},
        follow=True,
    )
    assert response.redirect_chain == [("/leads/?status=OPEN", 302)]
    assert "Close: 2 changed." in messages_of(response)
    for lead in leads[:2]:
        assert bodies(team, lead) == [
            {
                "uuid": lead.uuid,
                "botId": BOT_ID,
                "customerId": CUSTOMER_ID,
                "status": "CLOSED",
                "tags": [],
            }
        ]
    assert bodies(team, leads[2]) == []
    assert LeadChange.objects.filter(action="macro").count() == 2


def test_a_bulk_macro_on_all_matching_and_its_undo(team, agent_client):
    leads = [make_lead(n, sandbox=team, status=s) for n, s in enumerate(["OPEN", "REVIEW"])]
    make_lead(5, sandbox=team, status="CLOSED")
    hold = macro(name="Hold", status="ONHOLD", add_tags=["wait"])
    agent_client.post(
        f"/macros/{hold.pk}/apply/", {"all_matching": "1", "query": "status=OPEN&status=REVIEW"}
    )
    assert [fresh(x).status for x in leads] == ["ONHOLD", "ONHOLD"]
    html = agent_client.get("/leads/").content.decode()
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    agent_client.post("/undo/", {"token": token})
    assert [(fresh(x).status, fresh(x).tags) for x in leads] == [("OPEN", []), ("REVIEW", [])]
    assert [b["status"] for b in bodies(team, leads[1])] == ["ONHOLD", "REVIEW"]


def test_undo_of_a_macro_takes_its_note_back(team, user):
    lead = make_lead(1, sandbox=team)
    noted = macro(note_title="Called", note_template="Left a message")
    change = services.macro_apply(macro=noted, lead=lead, user=user)
    services.changes_undo(change_ids=[change.pk], user=user)
    assert [b["notes"] for b in bodies(team, lead)] == [
        [{"title": "Called", "description": "Left a message"}],
        [],
    ]
    assert history_sentences(_detail_html(user, lead))[:2] == [
        "undo: note removed: Called",
        "macro: note added: Called",
    ]


def _detail_html(user, lead) -> str:
    client = Client()
    client.force_login(user)
    return client.get(f"/leads/{lead.uuid}/").content.decode()


# --- who may apply which macro -------------------------------------------------------------------


def test_an_agent_may_not_apply_a_macro_assigning_someone_else(team, user, lead_admin, settings):
    lead = make_lead(1, sandbox=team)
    to_priya = macro(status="REVIEW", assign="agent", agent_id=PRIYA_ID)
    with pytest.raises(services.MacroRefused, match="Only lead admins"):
        services.macro_apply(macro=to_priya, lead=lead, user=user)
    assert bodies(team, lead) == [] and fresh(lead).status == "OPEN"
    services.macro_apply(macro=to_priya, lead=lead, user=lead_admin)
    assert bodies(team, lead)[0]["agentId"] == PRIYA_ID
    settings.BOTPANEL_AGENTS_MAY_ASSIGN_OTHERS = True
    other = make_lead(2, sandbox=team)
    services.macro_apply(macro=to_priya, lead=other, user=user)
    assert fresh(other).agent_id == PRIYA_ID


def test_an_agent_may_take_an_unassigned_lead_and_unassign_only_themselves(team, user):
    mine, priyas = make_lead(1, sandbox=team), make_lead(2, sandbox=team, agent_id=PRIYA_ID)
    take, drop = macro(name="Take", assign="me"), macro(name="Drop", assign="none", status="CLOSED")
    services.macro_apply(macro=take, lead=mine, user=user)
    with pytest.raises(services.MacroRefused, match="assigned to Priya"):
        services.macro_apply(macro=take, lead=priyas, user=user)
    with pytest.raises(services.MacroRefused, match="only lead admins may unassign"):
        services.macro_apply(macro=drop, lead=priyas, user=user)
    assert fresh(priyas).status == "OPEN"  # nothing of the macro applied
    services.macro_apply(macro=drop, lead=mine, user=user)
    assert (fresh(mine).agent_id, fresh(mine).status) == ("", "CLOSED")


def test_in_bulk_a_lead_an_agent_may_not_change_is_counted_as_failed(team, agent_client):
    leads = [make_lead(1, sandbox=team), make_lead(2, sandbox=team, agent_id=PRIYA_ID)]
    drop = macro(name="Drop", assign="none", status="CLOSED")
    response = agent_client.post(
        f"/macros/{drop.pk}/apply/", {"selected": [x.uuid for x in leads]}, follow=True
    )
    shown = messages_of(response)
    assert "Drop: 1 changed, 1 failed." in shown
    assert any("only lead admins may unassign" in m for m in shown)
    assert [fresh(x).status for x in leads] == ["CLOSED", "OPEN"]


def test_a_person_not_linked_cannot_apply_an_assign_to_me_macro(team, agent_client, user):
    user.agent_profile.delete()
    lead = make_lead(1, sandbox=team)
    take = macro(name="Take", assign="me", status="REVIEW")
    response = agent_client.post(f"/leads/{lead.uuid}/macros/{take.pk}/apply/", follow=True)
    assert any("Link your BotPenguin agent id" in m for m in messages_of(response))
    assert bodies(team, lead) == []


def test_a_macro_of_another_bot_is_not_found(team, agent_client):
    other = Bot.objects.create(name="Other", remote_bot_id="b2", customer_id="c2")
    lead = make_lead(1, sandbox=team)
    theirs = macro(bot=other, status="CLOSED")
    assert agent_client.post(f"/leads/{lead.uuid}/macros/{theirs.pk}/apply/").status_code == 404
    assert bodies(team, lead) == []


def test_a_person_without_the_triage_role_cannot_apply_one(team, client, nobody):
    lead = make_lead(1, sandbox=team)
    close = macro(status="CLOSED")
    client.force_login(nobody)
    assert client.post(f"/leads/{lead.uuid}/macros/{close.pk}/apply/").status_code == 403
    assert client.post(f"/macros/{close.pk}/apply/", {"selected": [lead.uuid]}).status_code == 403
    assert bodies(team, lead) == []


# --- the pages -----------------------------------------------------------------------------------


def test_the_detail_page_offers_the_macros_and_applies_one_with_undo(team, agent_client):
    lead = make_lead(1, sandbox=team)
    macro(name="Review", status="REVIEW", key="r", position=1)
    macro(name="Close", status="CLOSED", position=2)
    url = f"/leads/{lead.uuid}/"
    html = agent_client.get(url).content.decode()
    buttons = re.findall(
        r'<button type="submit" class="[^"]*macro-button"[^>]*>(.*?)</button>', html
    )
    assert buttons == ["Review <kbd>r</kbd>", "Close"]
    assert 'title="status Review"' in html and 'aria-keyshortcuts="r"' in html
    action = re.search(r'<form method="post" action="([^"]+)" class="d-inline macro-form">', html)
    response = agent_client.post(action.group(1), {"next": url}, follow=True)
    assert response.redirect_chain == [(url, 302)]
    assert "Review applied to Person 1." in messages_of(response)
    page = response.content.decode()
    assert history_sentences(page)[0] == "macro: status Open → Review"
    assert 'id="undo-button"' in page and "Person 1: macro: status Open → Review" in " ".join(
        re.sub(r"<[^>]+>", " ", page).split()
    )


def test_the_list_offers_macros_in_the_bulk_bar(team, agent_client):
    make_lead(1, sandbox=team)
    close = macro(name="Close", status="CLOSED", key="c")
    html = agent_client.get("/leads/").content.decode()
    assert f'formaction="/macros/{close.pk}/apply/"' in html
    assert 'form="bulk-form"' in html and 'src="/static/js/macros.js"' in html


# --- the admin -----------------------------------------------------------------------------------


def admin_post(client, **fields):
    data = {
        "name": "Call back",
        "bot": "",
        "key": "",
        "position": "0",
        "status": "",
        "assign": "",
        "agent_id": "",
        "add_tags": "",
        "remove_tags": "",
        "note_title": "",
        "note_template": "",
    }
    data.update(fields)
    return client.post("/admin/leads/macro/add/", data)


def errors(response) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def test_a_lead_admin_defines_a_macro_in_the_admin(team, lead_admin_client, lead_admin):
    bot = env_bot()
    response = admin_post(
        lead_admin_client,
        name="Call back",
        bot=str(bot.pk),
        key="C",
        status="REVIEW",
        assign="me",
        add_tags="callback, Callback, later",
        note_template="Call {name} on {date}",
    )
    assert response.status_code == 302, errors(response)
    saved = Macro.objects.get()
    assert (saved.key, saved.add_tags, saved.created_by) == ("c", ["callback", "later"], lead_admin)
    listing = lead_admin_client.get("/admin/leads/macro/").content.decode()
    assert "status Review, assign to me, tag +callback, tag +later, note Call back" in listing


def test_the_admin_refuses_a_macro_that_does_nothing_or_is_ambiguous(team, lead_admin_client):
    bot = env_bot()
    response = admin_post(lead_admin_client, bot=str(bot.pk))
    assert "A macro needs at least one action" in errors(response)
    response = admin_post(lead_admin_client, bot=str(bot.pk), assign="agent")
    assert 'Give the agent id to assign to ("The agent below").' in errors(response)
    response = admin_post(lead_admin_client, bot=str(bot.pk), assign="agent", agent_id="nobody")
    assert "No BotPanel user is linked to this agent id." in errors(response)
    response = admin_post(lead_admin_client, bot=str(bot.pk), status="OPEN", key="3")
    assert "is already a shortcut" in errors(response)
    response = admin_post(lead_admin_client, bot=str(bot.pk), status="OPEN", note_template="{x}")
    assert "Unknown placeholder {x}" in errors(response)
    response = admin_post(lead_admin_client, bot=str(bot.pk), add_tags="a", remove_tags="A")
    assert "is both added and removed" in errors(response)
    assert not Macro.objects.exists()


def test_a_key_is_unique_among_the_macros_offered_on_the_same_leads(team, staff_client):
    bot = env_bot()
    other = Bot.objects.create(name="Other", remote_bot_id="b2", customer_id="c2")
    macro(name="Everywhere", status="OPEN", key="c")
    response = admin_post(staff_client, name="Mine", bot=str(bot.pk), status="OPEN", key="c")
    assert "is already the macro" in errors(response)
    Macro.objects.all().delete()
    macro(name="Bot one", bot=bot, status="OPEN", key="c")
    assert (
        admin_post(staff_client, name="Two", bot=str(other.pk), status="OPEN", key="c").status_code
        == 302
    )
    response = admin_post(staff_client, name="All", bot="", status="OPEN", key="c")
    assert "is already the macro" in errors(response)


def test_an_agent_cannot_reach_the_macro_admin(team, agent_client):
    assert agent_client.get("/admin/leads/macro/").status_code == 302  # to the admin's login


def test_macro_note_dates_use_the_local_date(team, user, monkeypatch):
    lead = make_lead(1, sandbox=team, name="")
    noted = macro(note_template="{name} {date}")
    monkeypatch.setattr(timezone, "localdate", lambda: dt.date(2026, 12, 5))
    assert services.macro_note(macro=noted, lead=lead, user=user)["description"] == (
        "Visitor 2026-12-05"
    )
