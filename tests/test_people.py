"""Agents are people: linking a user to their BotPenguin agent id (createagent, the user admin,
their own profile page) and their name shown wherever an agent id is (list, detail, activity,
filter, admin, exports), an id nobody is linked to shortened with the full id in a tooltip."""

import csv
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from leads.models import AgentProfile, Lead, LeadChange
from tests.factories import link, make_lead

pytestmark = pytest.mark.django_db

PRIYA_ID = "64a1a9d0aa00000000000099"
LOOSE_ID = "ffffeeee0000111122223333"  # no user is linked to it


@pytest.fixture
def priya(django_user_model, user):
    person = django_user_model.objects.create_user(
        username="priya", password="priya-pass-123", first_name="Priya", last_name="Nair"
    )
    person.groups.add(*user.groups.all())
    return link(person, PRIYA_ID)


def agent_cell(html: str, lead) -> str:
    row = re.search(rf'<tr data-uuid="{lead.uuid}".*?</tr>', html, re.S).group(0)
    return re.search(r'<td class="[^"]*c-agent[^"]*">(.*?)</td>', row, re.S).group(1)


# --- createagent --agent-id -------------------------------------------------------------------


def test_createagent_links_a_new_agent_to_their_agent_id():
    out = io.StringIO()
    call_command("createagent", "ravi", "--name", "Ravi", "--agent-id", PRIYA_ID, stdout=out)
    ravi = get_user_model().objects.get(username="ravi")
    assert ravi.agent_profile.agent_id == PRIYA_ID
    assert f"Linked to BotPenguin agent id {PRIYA_ID}." in out.getvalue()
    assert "One-time password:" in out.getvalue()


def test_createagent_links_an_existing_user_keeping_password_and_role(lead_admin):
    out = io.StringIO()
    call_command("createagent", "leadadmin", "--agent-id", "lena-1", stdout=out)
    lead_admin.refresh_from_db()
    assert lead_admin.agent_profile.agent_id == "lena-1"
    assert lead_admin.check_password("leadadmin-pass-123")  # not reset
    assert list(lead_admin.groups.values_list("name", flat=True)) == ["Lead admin"]
    assert "One-time password" not in out.getvalue()
    assert "password and role unchanged" in out.getvalue()
    call_command("createagent", "leadadmin", "--agent-id", "", stdout=io.StringIO())
    assert AgentProfile.objects.get(user=lead_admin).agent_id == ""  # unlinked


def test_createagent_refuses_an_id_linked_to_someone_else(priya):
    with pytest.raises(CommandError, match=f"The agent id {PRIYA_ID} is already linked to Priya"):
        call_command("createagent", "ravi", "--agent-id", PRIYA_ID, stdout=io.StringIO())
    assert not get_user_model().objects.filter(username="ravi").exists()


# --- the profile page ------------------------------------------------------------------------------


def test_the_user_menu_links_to_the_profile_page(agent_client):
    html = agent_client.get("/profile/").content.decode()
    assert 'href="/profile/" id="profile-link">Profile</a>' in html
    assert 'name="time_zone"' in html and '<option value="Asia/Kolkata">' in html


def test_a_person_sets_their_name_time_zone_and_agent_id(agent_client, user):
    response = agent_client.post(
        "/profile/",
        {"first_name": "Asha", "last_name": "Rao", "time_zone": "Asia/Kolkata", "agent_id": "a-1"},
    )
    assert response.status_code == 302 and response["Location"] == "/profile/"
    page = agent_client.get("/profile/").content.decode()
    assert "Profile saved." in page
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("Asha", "Rao")
    assert (user.agent_profile.time_zone, user.agent_profile.agent_id) == ("Asia/Kolkata", "a-1")
    assert '<option value="Asia/Kolkata" selected>' in page
    assert 'id="my-leads"' in page  # linked: a link to their leads


def test_a_taken_agent_id_is_refused_naming_its_holder_and_keeping_the_input(
    agent_client, user, priya
):
    response = agent_client.post(
        "/profile/",
        {"first_name": "Asha!", "last_name": "", "time_zone": "Nowhere/Else", "agent_id": PRIYA_ID},
    )
    # Post/Redirect/Get: the refused form is shown by the GET it redirects to.
    assert response.status_code == 302 and response["Location"] == "/profile/"
    page = agent_client.get("/profile/")
    html = page.content.decode()
    assert page.status_code == 400
    assert f"The agent id {PRIYA_ID} is already linked to Priya Nair." in html
    assert "is not an IANA time zone name" in html
    assert f'value="{PRIYA_ID}"' in html and 'value="Asha!"' in html
    assert '<option value="Nowhere/Else" selected>' in html  # what was chosen, kept
    user.refresh_from_db()
    assert user.first_name == "Asha" and not AgentProfile.objects.filter(user=user).exists()
    # Reloading shows the page again, never a 405 or the form sent twice.
    assert agent_client.get("/profile/").status_code == 200


def test_an_agent_id_with_spaces_is_refused(agent_client):
    agent_client.post("/profile/", {"agent_id": "a b", "time_zone": ""})
    assert "An agent id has no spaces." in agent_client.get("/profile/").content.decode()


# --- names instead of ids ----------------------------------------------------------------------------


def test_the_list_shows_names_and_a_short_id_for_an_unlinked_one(agent_client, priya):
    hers = make_lead(1, agent_id=PRIYA_ID)
    loose = make_lead(2, agent_id=LOOSE_ID)
    nobody = make_lead(3)
    html = agent_client.get("/leads/").content.decode()
    assert agent_cell(html, hers) == f'<span title="{PRIYA_ID}">Priya Nair</span>'
    assert agent_cell(html, loose) == f'<span title="{LOOSE_ID}">ffffee…3333</span>'
    assert agent_cell(html, nobody) == ""
    assert PRIYA_ID not in agent_cell(html, hers).split(">", 1)[1]


def test_a_renamed_person_is_shown_by_their_new_name_at_once(agent_client, priya):
    lead = make_lead(1, agent_id=PRIYA_ID)
    assert "Priya Nair" in agent_cell(agent_client.get("/leads/").content.decode(), lead)
    priya.first_name, priya.last_name = "Priyanka", ""
    priya.save()
    assert agent_cell(agent_client.get("/leads/").content.decode(), lead) == (
        f'<span title="{PRIYA_ID}">Priyanka</span>'
    )


def test_names_are_escaped(agent_client, priya):
    priya.first_name, priya.last_name = "<b>Priya</b>", ""
    priya.save()
    lead = make_lead(1, agent_id=PRIYA_ID)
    cell = agent_cell(agent_client.get("/leads/").content.decode(), lead)
    assert "&lt;b&gt;Priya&lt;/b&gt;" in cell and "<b>" not in cell


def test_the_detail_page_shows_the_name_with_the_id_in_a_tooltip(agent_client, priya):
    lead = make_lead(1, agent_id=PRIYA_ID)
    html = agent_client.get(f"/leads/{lead.uuid}/").content.decode()
    assert f'id="lead-agent"><span title="{PRIYA_ID}">Priya Nair</span>' in html
    assert f'id="assigned-to" title="{PRIYA_ID}">Priya Nair</strong>' in html
    loose = make_lead(2, agent_id=LOOSE_ID)
    html = agent_client.get(f"/leads/{loose.uuid}/").content.decode()
    assert f'id="lead-agent"><span title="{LOOSE_ID}">ffffee…3333</span>' in html


def test_the_activity_page_names_the_person_assigned(agent_client, priya, user):
    lead = make_lead(1)
    LeadChange.objects.create(
        lead=lead,
        user=user,
        action="assign",
        before={"agent_id": ""},
        after={"agent_id": PRIYA_ID},
        state="delivered",
    )
    html = agent_client.get("/activity/").content.decode()
    assert "Priya Nair" in html


def test_the_agent_filter_offers_the_people_me_and_unassigned(agent_client, priya):
    make_lead(1)
    html = agent_client.get("/leads/").content.decode()
    select = re.search(r'<select name="agent" id="id_agent".*?</select>', html, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)"', select) == ["", "me", "none", PRIYA_ID]
    assert ">Priya Nair</option>" in select
    # An id from an old link stays chosen, shortened.
    html = agent_client.get(f"/leads/?agent={LOOSE_ID}").content.decode()
    assert f'<option value="{LOOSE_ID}" selected>ffffee…3333</option>' in html


def test_the_admin_changelist_and_change_page_show_who_a_lead_is_assigned_to(staff_client, priya):
    lead = make_lead(1, agent_id=PRIYA_ID)
    html = staff_client.get("/admin/leads/lead/").content.decode()
    assert "Assigned to" in html and f'<span title="{PRIYA_ID}">Priya Nair</span>' in html
    html = staff_client.get(f"/admin/leads/lead/{lead.pk}/change/").content.decode()
    assert f'<span title="{PRIYA_ID}">Priya Nair</span>' in html


def test_the_user_admin_links_a_user_and_refuses_a_taken_id(staff_client, user, priya):
    page = staff_client.get(f"/admin/auth/user/{user.pk}/change/")
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "password"}
    data.update(
        username="agent",
        date_joined_0="2026-12-01",
        date_joined_1="10:00:00",
        groups=[g.pk for g in user.groups.all()],
        **{
            "agent_profile-TOTAL_FORMS": "1",
            "agent_profile-INITIAL_FORMS": "0",
            "agent_profile-MIN_NUM_FORMS": "0",
            "agent_profile-MAX_NUM_FORMS": "1",
            "agent_profile-0-agent_id": PRIYA_ID,
            "agent_profile-0-time_zone": "Europe/Paris",
        },
    )
    data = {k: v for k, v in data.items() if k not in ("last_login", "user_permissions")}
    refused = staff_client.post(f"/admin/auth/user/{user.pk}/change/", data)
    assert refused.status_code == 200
    assert f"The agent id {PRIYA_ID} is already linked to Priya Nair." in refused.content.decode()
    data["agent_profile-0-agent_id"] = "asha-7"
    saved = staff_client.post(f"/admin/auth/user/{user.pk}/change/", data)
    assert saved.status_code == 302
    profile = AgentProfile.objects.get(user=user)
    assert (profile.agent_id, profile.time_zone) == ("asha-7", "Europe/Paris")
    assert "asha-7" in staff_client.get("/admin/auth/user/").content.decode()


def test_exports_have_the_name_beside_the_id(agent_client, priya):
    make_lead(1, agent_id=PRIYA_ID)
    make_lead(2, agent_id=LOOSE_ID)
    response = agent_client.get("/leads/?_export=csv")
    rows = {r["Agent id"]: r for r in csv.DictReader(io.StringIO(response.content.decode()))}
    assert rows[PRIYA_ID]["Agent"] == "Priya Nair"
    assert rows[LOOSE_ID]["Agent"] == ""
    header = response.content.decode().splitlines()[0].split(",")
    assert header.index("Agent id") == header.index("Agent") + 1
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(agent_client.get("/leads/?_export=xlsx").content))
    values = [[cell.value for cell in row] for row in book.active.iter_rows()]
    agent, agent_id = values[0].index("Agent"), values[0].index("Agent id")
    assert ["Priya Nair", PRIYA_ID] in [[row[agent], row[agent_id]] for row in values[1:]]


def test_no_lead_names_a_person_of_another_row(agent_client, priya):
    """The directory is keyed by the id: a lead of an id nobody holds never shows a name."""
    make_lead(1, agent_id=PRIYA_ID + "0")
    html = agent_client.get("/leads/").content.decode()
    assert "Priya Nair" not in re.sub(r'<select name="agent".*?</select>', "", html, flags=re.S)
    assert Lead.objects.count() == 1
