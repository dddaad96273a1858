"""Assigning leads to people: what BotPenguin receives (the PUT's agentId), who may assign whom,
bulk "Assign to…", the detail page's Assign control and "Assign to me", and the list's agent
filter (`?agent=me`, `?agent=none`, a person, a raw id)."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from leads import services
from leads.models import Bot, Lead, LeadChange, OverdueRule
from tests.factories import BOT_ID, CUSTOMER_ID, env_bot, link, make_lead

pytestmark = pytest.mark.django_db(transaction=True)

ASHA_ID = "64a1a9d0aa00000000000042"  # the agent fixture, Asha
LENA_ID = "64a1a9d0aa00000000000077"  # the lead admin fixture, Lena
PRIYA_ID = "64a1a9d0aa00000000000099"


@pytest.fixture
def team(botpenguin, user, lead_admin, django_user_model):
    """One bot whose team is Asha (agent), Lena (lead admin) and Priya (agent), each linked to
    their agent id; five leads in the sandbox: 0 unassigned, 1 Asha's, 2 Priya's, 3 unassigned,
    4 an id nobody is linked to."""
    priya = django_user_model.objects.create_user(
        username="priya", password="priya-pass-123", first_name="Priya", last_name="Nair"
    )
    priya.groups.add(*user.groups.all())
    link(user, ASHA_ID)
    link(lead_admin, LENA_ID)
    link(priya, PRIYA_ID)
    agents = ["", ASHA_ID, PRIYA_ID, "", "ffffeeee0000111122223333"]
    leads = [
        make_lead(n, sandbox=botpenguin.sandbox, agent_id=agent) for n, agent in enumerate(agents)
    ]
    return {"leads": leads, "priya": priya, "sandbox": botpenguin.sandbox}


def put_bodies(sandbox, lead) -> list[dict]:
    return [put.body for put in sandbox.puts(lead.uuid)]


def agent_of(lead) -> str:
    return Lead.objects.get(pk=lead.pk).agent_id


# --- the service ------------------------------------------------------------------------------------


def test_assign_to_me_sends_a_put_with_agentId_and_nothing_else(team, user):
    lead = team["leads"][0]
    change = services.lead_assign_to_me(lead=lead, user=user)
    assert put_bodies(team["sandbox"], lead) == [
        {"uuid": lead.uuid, "botId": BOT_ID, "customerId": CUSTOMER_ID, "agentId": ASHA_ID}
    ]
    assert change.state == LeadChange.State.DELIVERED and change.action == "assign"
    assert (change.before, change.after) == ({"agent_id": ""}, {"agent_id": ASHA_ID})
    assert change.user == user
    assert agent_of(lead) == ASHA_ID
    assert team["sandbox"].get_chat(lead.uuid)["_agentAssigned"] == ASHA_ID


def test_unassign_sends_an_empty_agentId(team, user):
    lead = team["leads"][1]  # Asha's
    services.lead_assign(lead=lead, agent_id="", user=user)
    (body,) = put_bodies(team["sandbox"], lead)
    assert body["agentId"] == "" and set(body) == {"uuid", "botId", "customerId", "agentId"}
    assert agent_of(lead) == ""
    assert team["sandbox"].get_chat(lead.uuid)["_agentAssigned"] is None


def test_assigning_who_already_holds_it_changes_nothing(team, user):
    assert services.lead_assign(lead=team["leads"][1], agent_id=ASHA_ID, user=user) is None
    assert team["sandbox"].puts() == []


@pytest.mark.parametrize(
    ("n", "target", "message"),
    [
        (0, PRIYA_ID, "Only lead admins may assign a lead to someone else."),
        (2, ASHA_ID, "This lead is assigned to Priya Nair: only lead admins may reassign it."),
        (2, "", "This lead is assigned to Priya Nair: only lead admins may unassign it."),
    ],
)
def test_an_agent_may_not_assign_others_nor_take_their_leads(team, user, n, target, message):
    lead = team["leads"][n]
    before = agent_of(lead)
    with pytest.raises(services.AssignmentRefused, match=re.escape(message)):
        services.lead_assign(lead=lead, agent_id=target, user=user)
    assert agent_of(lead) == before
    assert team["sandbox"].puts() == [] and not LeadChange.objects.exists()


def test_a_refusal_is_a_permission_denied_for_callers_that_do_not_catch_it(team, user):
    with pytest.raises(PermissionDenied):
        services.lead_assign(lead=team["leads"][0], agent_id=PRIYA_ID, user=user)


def test_a_lead_admin_assigns_to_anyone_takes_over_and_unassigns(team, lead_admin):
    leads, sandbox = team["leads"], team["sandbox"]
    services.lead_assign(lead=leads[0], agent_id=PRIYA_ID, user=lead_admin)
    services.lead_assign(lead=leads[2], agent_id=ASHA_ID, user=lead_admin)
    services.lead_assign(lead=leads[1], agent_id="", user=lead_admin)
    assert [agent_of(lead) for lead in leads[:3]] == [PRIYA_ID, "", ASHA_ID]
    assert [put_bodies(sandbox, lead)[0]["agentId"] for lead in leads[:3]] == [
        PRIYA_ID,
        "",
        ASHA_ID,
    ]


def test_the_setting_lets_agents_assign_others(team, user, settings):
    settings.BOTPANEL_AGENTS_MAY_ASSIGN_OTHERS = True
    services.lead_assign(lead=team["leads"][2], agent_id=ASHA_ID, user=user)
    services.lead_assign(lead=team["leads"][0], agent_id=PRIYA_ID, user=user)
    assert agent_of(team["leads"][2]) == ASHA_ID and agent_of(team["leads"][0]) == PRIYA_ID


def test_an_unlinked_person_is_told_to_link_their_id_first(team, django_user_model, user):
    newcomer = django_user_model.objects.create_user(username="new", password="new-pass-123")
    newcomer.groups.add(*user.groups.all())
    with pytest.raises(services.AssignmentRefused, match="Link your BotPenguin agent id"):
        services.lead_assign_to_me(lead=team["leads"][0], user=newcomer)
    assert team["sandbox"].puts() == []


def test_only_linked_people_of_the_leads_bot_can_be_chosen(team, lead_admin, admin_user):
    lead = team["leads"][0]
    with pytest.raises(services.AssignmentRefused, match="No BotPanel user is linked"):
        services.lead_assign(lead=lead, agent_id="someone-unknown", user=lead_admin)
    # A second bot: Priya works on it only; Asha and Lena stay on the first (selectors.bots).
    shop = Bot.objects.create(name="Shop", api_url="http://x", remote_bot_id="s", customer_id="c")
    shop.members.add(team["priya"])
    env_bot().members.remove(team["priya"])
    lead_admin = type(lead_admin).objects.get(pk=lead_admin.pk)  # as a new request loads them
    with pytest.raises(services.AssignmentRefused, match="Priya Nair does not work on the bot"):
        services.lead_assign(lead=lead, agent_id=PRIYA_ID, user=lead_admin)
    # A superuser linked to an id works on every bot.
    link(admin_user, "boss-agent-id")
    services.lead_assign(lead=lead, agent_id="boss-agent-id", user=lead_admin)
    assert agent_of(lead) == "boss-agent-id"


def test_a_lead_taken_meanwhile_is_not_taken_over_by_an_agent(team, user, lead_admin):
    lead = team["leads"][0]  # the agent's page shows it unassigned
    Lead.objects.filter(pk=lead.pk).update(agent_id=PRIYA_ID)
    with pytest.raises(services.AssignmentRefused, match="assigned to Priya Nair"):
        services.lead_assign_to_me(lead=lead, user=user)
    assert agent_of(lead) == PRIYA_ID


def test_a_version_from_before_a_change_is_a_conflict(team, lead_admin):
    lead = team["leads"][0]
    old = lead.version
    services.lead_set_status(lead=lead, status="REVIEW", user=lead_admin)
    with pytest.raises(services.EditConflict):
        services.lead_assign(lead=lead, agent_id=LENA_ID, user=lead_admin, base_version=old)
    assert agent_of(lead) == ""


# --- bulk ----------------------------------------------------------------------------------------------


def test_bulk_assign_by_a_lead_admin(team, lead_admin):
    leads = team["leads"]
    result = services.leads_bulk_assign(
        leads=Lead.objects.filter(pk__in=[lead.pk for lead in leads]),
        agent_id=LENA_ID,
        user=lead_admin,
    )
    assert (len(result.changed), len(result.unchanged), result.failed) == (5, 0, [])
    assert {agent_of(lead) for lead in leads} == {LENA_ID}
    assert {put.body["agentId"] for put in team["sandbox"].puts()} == {LENA_ID}


def test_bulk_assign_to_me_by_an_agent_takes_only_the_free_leads(team, user):
    leads = team["leads"]
    result = services.leads_bulk_assign(
        leads=Lead.objects.filter(pk__in=[lead.pk for lead in leads]), agent_id=ASHA_ID, user=user
    )
    assert sorted(lead.pk for lead in result.changed) == [leads[0].pk, leads[3].pk]
    assert [lead.pk for lead in result.unchanged] == [leads[1].pk]
    assert sorted((lead.pk, reason) for lead, reason in result.failed) == [
        (leads[2].pk, "This lead is assigned to Priya Nair: only lead admins may reassign it."),
        (
            leads[4].pk,
            "This lead is assigned to ffffee…3333: only lead admins may reassign it.",
        ),
    ]
    assert result.summary == "2 changed, 1 already so, 2 failed"
    assert [agent_of(lead) for lead in leads] == [
        ASHA_ID,
        ASHA_ID,
        PRIYA_ID,
        ASHA_ID,
        "ffffeeee0000111122223333",
    ]


def test_bulk_assign_to_another_person_by_an_agent_changes_nothing(team, user):
    result = services.leads_bulk_assign(leads=Lead.objects.all(), agent_id=PRIYA_ID, user=user)
    assert len(result.failed) == 4 and len(result.unchanged) == 1  # the one already Priya's
    assert team["sandbox"].puts() == []


# --- the detail page ----------------------------------------------------------------------------------


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_done_when_assign_to_me_on_the_detail_page_puts_agentId(team, agent_client):
    lead = team["leads"][0]
    page = agent_client.get(f"/leads/{lead.uuid}/").content.decode()
    assert 'id="assign-to-me"' in page and 'id="assign-agent"' not in page  # no choice of others
    response = agent_client.post(
        f"/leads/{lead.uuid}/assign/", {"agent": "me", "query": "status=OPEN"}, follow=True
    )
    assert response.redirect_chain == [(f"/leads/{lead.uuid}/?status=OPEN", 302)]
    assert "Assigned to you." in messages_of(response)
    (body,) = put_bodies(team["sandbox"], lead)
    assert body == {
        "uuid": lead.uuid,
        "botId": BOT_ID,
        "customerId": CUSTOMER_ID,
        "agentId": ASHA_ID,
    }
    html = response.content.decode()
    assert 'id="assigned-to" title="64a1a9d0aa00000000000042">you (Asha)</strong>' in html
    assert 'id="unassign-me"' in html


def test_an_unlinked_person_is_sent_to_their_profile(team, client, django_user_model, user):
    newcomer = django_user_model.objects.create_user(username="new", password="new-pass-123")
    newcomer.groups.add(*user.groups.all())
    client.force_login(newcomer)
    lead = team["leads"][0]
    assert 'id="assign-link-hint"' in client.get(f"/leads/{lead.uuid}/").content.decode()
    response = client.post(f"/leads/{lead.uuid}/assign/", {"agent": "me"}, follow=True)
    html = response.content.decode()
    assert "Link your BotPenguin agent id on your profile first." in html
    assert '<a href="/profile/" class="alert-link">Open your profile</a>' in html
    assert team["sandbox"].puts() == [] and agent_of(lead) == ""


def test_an_agent_posting_someone_else_is_refused_with_the_reason(team, agent_client):
    lead = team["leads"][0]
    response = agent_client.post(f"/leads/{lead.uuid}/assign/", {"agent": PRIYA_ID}, follow=True)
    assert "Only lead admins may assign a lead to someone else." in messages_of(response)
    assert team["sandbox"].puts() == [] and agent_of(lead) == ""


def test_a_lead_admin_chooses_among_the_people_of_the_leads_bot(team, lead_admin_client):
    lead = team["leads"][2]  # Priya's
    html = lead_admin_client.get(f"/leads/{lead.uuid}/").content.decode()
    select = re.search(r'<select name="agent" id="assign-agent".*?</select>', html, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)"', select) == ["", ASHA_ID, LENA_ID, PRIYA_ID]
    assert f'<option value="{PRIYA_ID}" selected>Priya Nair</option>' in select
    response = lead_admin_client.post(
        f"/leads/{lead.uuid}/assign/", {"agent": ASHA_ID}, follow=True
    )
    assert "Assigned to Asha." in messages_of(response)
    assert put_bodies(team["sandbox"], lead)[0]["agentId"] == ASHA_ID
    response = lead_admin_client.post(f"/leads/{lead.uuid}/assign/", {"agent": ""}, follow=True)
    assert "Unassigned." in messages_of(response)
    assert [b["agentId"] for b in put_bodies(team["sandbox"], lead)] == [ASHA_ID, ""]


def test_assigning_a_lead_of_another_bot_is_a_404(team, agent_client):
    other = Bot.objects.create(name="Shop", api_url="http://x", remote_bot_id="s", customer_id="c")
    theirs = make_lead(9, bot=other)
    assert agent_client.post(f"/leads/{theirs.uuid}/assign/", {"agent": "me"}).status_code == 404
    assert agent_of(theirs) == ""


# --- the list: key a on a row (htmx), bulk, the agent filter ------------------------------------------


def test_key_a_on_a_row_swaps_in_the_row_assigned_to_me(team, agent_client):
    lead = team["leads"][3]
    response = agent_client.post(
        f"/leads/{lead.uuid}/assign/",
        {"agent": "me", "row": "1", "query": ""},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert html.startswith(f'<tr data-uuid="{lead.uuid}"')
    assert f'<span title="{ASHA_ID}">Asha</span>' in html and "Assigned to you." in html
    assert put_bodies(team["sandbox"], lead)[0]["agentId"] == ASHA_ID


def test_key_a_keeps_the_rows_overdue_mark(team, agent_client):
    lead = team["leads"][3]
    # the seeded rules may be flushed by an earlier transactional test
    OverdueRule.objects.update_or_create(status="OPEN", defaults={"after_minutes": 240})
    Lead.objects.filter(pk=lead.pk).update(
        status="OPEN", waiting_since=timezone.now() - timedelta(hours=5)
    )
    response = agent_client.post(
        f"/leads/{lead.uuid}/assign/",
        {"agent": "me", "row": "1", "query": ""},
        headers={"HX-Request": "true"},
    )
    assert '<span class="mark mark-overdue">Overdue</span>' in response.content.decode()


def test_key_a_refused_shows_why_in_the_messages_and_leaves_the_row(team, agent_client):
    lead = team["leads"][2]  # Priya's
    response = agent_client.post(
        f"/leads/{lead.uuid}/assign/", {"agent": "me", "row": "1"}, headers={"HX-Request": "true"}
    )
    assert response["HX-Retarget"] == "#messages" and response["HX-Reswap"] == "innerHTML"
    assert "only lead admins may reassign it" in response.content.decode()
    assert agent_of(lead) == PRIYA_ID


def uuids_listed(response) -> list[str]:
    return re.findall(r'<tr data-uuid="([^"]+)"', response.content.decode())


def test_done_when_agent_me_lists_exactly_my_leads(team, agent_client, user, lead_admin):
    leads = team["leads"]
    services.lead_assign_to_me(lead=leads[3], user=user)
    mine = {leads[1].uuid, leads[3].uuid}
    response = agent_client.get("/leads/?agent=me")
    assert set(uuids_listed(response)) == mine and "2 matching" in response.content.decode()
    # Someone else's "me" is theirs, though the counts are cached by parameters.
    admin_client = Client()
    admin_client.force_login(lead_admin)
    assert uuids_listed(admin_client.get("/leads/?agent=me")) == []
    services.lead_assign(lead=leads[0], agent_id=LENA_ID, user=lead_admin)
    assert uuids_listed(admin_client.get("/leads/?agent=me")) == [leads[0].uuid]
    assert set(uuids_listed(agent_client.get("/leads/?agent=me"))) == mine


def test_agent_none_and_a_raw_id_keep_working(team, agent_client):
    leads = team["leads"]
    assert set(uuids_listed(agent_client.get("/leads/?agent=none"))) == {
        leads[0].uuid,
        leads[3].uuid,
    }
    assert uuids_listed(agent_client.get(f"/leads/?agent={PRIYA_ID}")) == [leads[2].uuid]


def test_agent_me_for_an_unlinked_person_lists_nothing_and_says_why(
    team, client, django_user_model, user
):
    newcomer = django_user_model.objects.create_user(username="new", password="new-pass-123")
    newcomer.groups.add(*user.groups.all())
    client.force_login(newcomer)
    response = client.get("/leads/?agent=me")
    assert uuids_listed(response) == []
    html = response.content.decode()
    assert "No lead is yours: you are not linked to a BotPenguin agent id." in html
    assert '<a href="/profile/" class="alert-link">Open your profile</a>' in html


def test_bulk_assign_selected_rows_to_a_person(team, lead_admin_client):
    leads = team["leads"]
    response = lead_admin_client.post(
        "/leads/bulk/",
        {"action": "assign", "agent": PRIYA_ID, "selected": [leads[0].uuid, leads[3].uuid]},
        follow=True,
    )
    assert "Assign to Priya Nair: 2 changed." in messages_of(response)
    assert [agent_of(lead) for lead in leads] == [
        PRIYA_ID,
        ASHA_ID,
        PRIYA_ID,
        PRIYA_ID,
        "ffffeeee0000111122223333",
    ]
    assert sorted(put.body["agentId"] for put in team["sandbox"].puts()) == [PRIYA_ID, PRIYA_ID]


def test_bulk_assign_all_matching_to_me_and_unassign(team, agent_client):
    leads = team["leads"]
    response = agent_client.post(
        "/leads/bulk/",
        {"action": "assign", "agent": "me", "all_matching": "1", "query": "agent=none"},
        follow=True,
    )
    assert "Assign to me: 2 changed." in messages_of(response)
    assert {agent_of(leads[0]), agent_of(leads[3])} == {ASHA_ID}
    response = agent_client.post(
        "/leads/bulk/",
        {"action": "assign", "agent": "none", "selected": [leads[0].uuid, leads[2].uuid]},
        follow=True,
    )
    shown = messages_of(response)
    assert "Unassign: 1 changed, 1 failed." in shown
    assert any("only lead admins may unassign it" in m for m in shown)
    assert (agent_of(leads[0]), agent_of(leads[2])) == ("", PRIYA_ID)


def test_bulk_assign_needs_a_choice(team, agent_client):
    response = agent_client.post(
        "/leads/bulk/",
        {"action": "assign", "agent": "", "selected": [team["leads"][0].uuid]},
        follow=True,
    )
    assert "Choose whom to assign them to." in messages_of(response)
    assert team["sandbox"].puts() == []


def test_the_bulk_bar_offers_assign_to_people_only_to_those_who_may(team, agent_client, lead_admin):
    def bulk_agents(c):
        html = c.get("/leads/").content.decode()
        select = re.search(r'<select name="agent"[^>]*id="bulk-agent".*?</select>', html, re.S)
        return re.findall(r'<option value="([^"]*)"', select.group(0))

    assert bulk_agents(agent_client) == ["me", "none"]
    admin_client = Client()
    admin_client.force_login(lead_admin)
    assert bulk_agents(admin_client) == ["me", "none", ASHA_ID, LENA_ID, PRIYA_ID]
