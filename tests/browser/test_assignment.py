"""People and assignment in a real browser, at a laptop's size (1366x900) and a phone's (390x844):
an agent links their agent id on their profile, clicks "Assign to me" and BotPenguin receives
the PUT with their agentId, "Me" in the agent filter lists exactly their leads, key a assigns the
focused row; a lead admin assigns to a person of the bot and in bulk, and sees names, not ids."""

import re

import pytest
from playwright.sync_api import expect

from leads.models import Lead
from tests.browser.pages import axe_violations, sign_in, watch_policy
from tests.factories import link, make_lead

pytestmark = pytest.mark.django_db(transaction=True)

SIZES = {"laptop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
ASHA_ID = "64a1a9d0aa00000000000042"
PRIYA_ID = "64a1a9d0aa00000000000099"


@pytest.fixture(params=sorted(SIZES))
def size(request):
    return SIZES[request.param]


@pytest.fixture
def team(botpenguin, user, lead_admin, django_user_model):
    """Priya (an agent, linked) and five leads in the sandbox: 0–2 unassigned, 3 Priya's, 4
    assigned to an id nobody is linked to. The agent Asha is not linked yet."""
    priya = django_user_model.objects.create_user(
        username="priya", password="priya-pass-123", first_name="Priya", last_name="Nair"
    )
    priya.groups.add(*user.groups.all())
    link(priya, PRIYA_ID)
    agents = ["", "", "", PRIYA_ID, "ffffeeee0000111122223333"]
    return [
        make_lead(n, sandbox=botpenguin.sandbox, agent_id=agent) for n, agent in enumerate(agents)
    ]


def agent_puts(botpenguin, lead) -> list[str]:
    return [put.body.get("agentId") for put in botpenguin.sandbox.puts(lead.uuid)]


def row(page, lead):
    return page.locator(f'#lead-table tbody tr[data-uuid="{lead.uuid}"]')


def test_an_agent_links_their_id_and_assigns_a_lead_to_themselves(
    page, live_server, team, botpenguin, size
):
    page.set_viewport_size(size)
    problems = watch_policy(page)
    sign_in(page, live_server, "agent", "agent-pass-123")
    lead = team[0]
    # Not linked yet: "Assign to me" says where to link the id.
    page.goto(f"{live_server.url}/leads/{lead.uuid}/")
    page.click("#assign-to-me")
    expect(page.locator("#messages")).to_contain_text("Link your BotPenguin agent id")
    page.locator("#messages a", has_text="Open your profile").click()
    expect(page).to_have_url(re.compile(r"/profile/$"))
    # A taken id is refused, naming who holds it, with what was typed kept.
    assert axe_violations(page) == []
    page.fill("#id_agent_id", PRIYA_ID)
    page.click("#profile-form button[type=submit]")
    expect(page.locator("#profile-form")).to_contain_text("already linked to Priya Nair")
    expect(page.locator("#id_agent_id")).to_have_value(PRIYA_ID)
    assert axe_violations(page) == []  # the refused form too
    page.fill("#id_agent_id", ASHA_ID)
    page.select_option("#id_time_zone", "Asia/Kolkata")
    page.click("#profile-form button[type=submit]")
    expect(page.locator("#messages")).to_contain_text("Profile saved.")

    page.goto(f"{live_server.url}/leads/{lead.uuid}/")
    expect(page.locator("#assign-agent")).to_have_count(0)  # agents choose nobody else
    page.click("#assign-to-me")
    expect(page.locator("#messages")).to_contain_text("Assigned to you.")
    expect(page.locator("#assigned-to")).to_have_text("you (Asha)")
    assert agent_puts(botpenguin, lead) == [ASHA_ID]  # the Done-when PUT
    assert axe_violations(page, "#triage") == []

    # "Me" in the agent filter lists exactly their leads.
    page.goto(f"{live_server.url}/leads/?agent=me")
    page.wait_for_selector("body[data-list-ready]", state="attached")
    rows = page.locator("#lead-table tbody tr[data-uuid]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-uuid", lead.uuid)
    expect(page.locator("#id_agent")).to_have_value("me")
    assert problems == []


def test_key_a_assigns_the_focused_row_and_a_refusal_is_shown(
    page, live_server, team, botpenguin, user
):
    link(user, ASHA_ID)
    page.set_viewport_size(SIZES["laptop"])
    problems = watch_policy(page)
    sign_in(page, live_server, "agent", "agent-pass-123")
    page.goto(f"{live_server.url}/leads/")
    page.wait_for_selector("body[data-list-ready]", state="attached")
    # Newest first: Priya's lead (3) is the second row, lead 2 the third.
    row(page, team[2]).locator("td.c-upd").click()
    page.keyboard.press("a")
    expect(row(page, team[2]).locator("td.c-agent")).to_have_text("Asha")
    expect(row(page, team[2]).locator("td.c-agent span")).to_have_attribute("title", ASHA_ID)
    assert agent_puts(botpenguin, team[2]) == [ASHA_ID]
    row(page, team[3]).locator("td.c-upd").click()
    page.keyboard.press("a")
    expect(page.locator("#messages")).to_contain_text("only lead admins may reassign it")
    expect(row(page, team[3]).locator("td.c-agent")).to_have_text("Priya Nair")
    assert agent_puts(botpenguin, team[3]) == []
    assert problems == []


def test_a_lead_admin_assigns_to_a_person_and_in_bulk(page, live_server, team, botpenguin, size):
    page.set_viewport_size(size)
    problems = watch_policy(page)
    sign_in(page, live_server, "leadadmin", "leadadmin-pass-123")
    lead = team[0]
    page.goto(f"{live_server.url}/leads/{lead.uuid}/")
    page.select_option("#assign-agent", PRIYA_ID)
    page.click("#assign-form button[type=submit]")
    expect(page.locator("#messages")).to_contain_text("Assigned to Priya Nair.")
    expect(page.locator("#assigned-to")).to_have_text("Priya Nair")
    expect(page.locator("#lead-agent span")).to_have_attribute("title", PRIYA_ID)
    assert agent_puts(botpenguin, lead) == [PRIYA_ID]
    assert axe_violations(page, "#triage") == []

    page.goto(f"{live_server.url}/leads/")
    page.wait_for_selector("body[data-list-ready]", state="attached")
    for chosen in (team[1], team[2]):
        row(page, chosen).locator('input[name="selected"]').check()
    page.select_option("#bulk-action", "assign")
    expect(page.locator("#bulk-agent")).to_be_visible()
    expect(page.locator("#bulk-tag")).to_be_hidden()
    assert axe_violations(page, "#bulk-form") == []
    page.select_option("#bulk-agent", PRIYA_ID)
    page.click("#bulk-apply")
    expect(page.locator("#messages")).to_contain_text("Assign to Priya Nair: 2 changed.")
    assert {Lead.objects.get(pk=chosen.pk).agent_id for chosen in team[:4]} == {PRIYA_ID}
    if size == SIZES["laptop"]:
        # Names, not ids; an id nobody holds is shortened with the whole id in the tooltip.
        expect(row(page, team[1]).locator("td.c-agent")).to_have_text("Priya Nair")
        loose = row(page, team[4]).locator("td.c-agent span")
        expect(loose).to_have_text("ffffee…3333")
        expect(loose).to_have_attribute("title", "ffffeeee0000111122223333")
    assert problems == []
