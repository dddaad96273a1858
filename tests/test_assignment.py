"""Assigning leads to people: what BotPenguin receives (the PUT's agentId), who may assign whom,
bulk "Assign to…", the detail page's Assign control and "Assign to me", and the list's agent
filter (`?agent=me`, `?agent=none`, a person, a raw id)."""

import re

import pytest
from django.core.exceptions import PermissionDenied

from leads import services
from leads.models import Bot, Lead, LeadChange
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
