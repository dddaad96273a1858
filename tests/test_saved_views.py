"""Saved views: a list query saved under a name reopens the same list with its count shown;
personal or shared with a bot's team; renamed, shared, reordered and deleted by their owner
(shared ones by lead admins too); a query that is not the list's is refused with the reason and
what was typed kept."""

import re
from html import unescape

import pytest

from leads.models import Bot, SavedView
from tests.factories import env_bot, make_lead

pytestmark = pytest.mark.django_db

VIEW = re.compile(
    r'data-view="(\d+)"[^>]*><span class="queue-name">([^<]*)</span>'
    r'<span class="queue-count">([^<]*)</span>'
)


def panel_views(client, query: str = "") -> dict[str, str]:
    """{name: count} of the saved views the list's side panel shows."""
    html = client.get("/views/panel/" + (f"?{query}" if query else "")).content.decode()
    return {name: count for _pk, name, count in VIEW.findall(html)}


def rows_of(response) -> list[str]:
    return re.findall(r'<tr data-uuid="([^"]+)"', response.content.decode())


def save(client, name: str, query: str, *, shared: bool = False):
    data = {"name": name, "query": query}
    if shared:
        data["shared"] = "1"
    return client.post("/views/new/", data)


@pytest.fixture
def leads():
    """Three open vip leads (one closed), one open lead without the tag."""
    made = [make_lead(n, status="OPEN", tags=["vip"]) for n in range(3)]
    made.append(make_lead(3, status="CLOSED", tags=["vip"]))
    made.append(make_lead(4, status="OPEN"))
    return made


def test_a_saved_view_reopens_the_same_list_with_its_count(agent_client, user, leads):
    query = "tag=vip&status=OPEN&sort=name&per_page=50"
    listed = rows_of(agent_client.get(f"/leads/?{query}"))
    assert len(listed) == 3

    response = save(agent_client, "VIP open", query)
    view = SavedView.objects.get(owner=user)
    assert view.query == query and not view.shared and view.bot is None
    # saved, then the list itself: the same rows in the same order
    assert response.status_code == 302 and response["Location"] == f"/leads/?{query}"
    reopened = agent_client.get(response["Location"])
    assert rows_of(reopened) == listed
    assert "3 matching" in reopened.content.decode()
    assert panel_views(agent_client) == {"VIP open": "3"}

    make_lead(9, status="OPEN", tags=["vip"])  # the count follows the mirror
    assert panel_views(agent_client) == {"VIP open": "4"}


def test_the_panels_save_form_keeps_the_lists_query_and_bot(agent_client, user):
    website = env_bot()
    whatsapp = Bot.objects.create(
        name="WhatsApp", api_url="http://x", remote_bot_id="w", customer_id="c"
    )
    whatsapp.members.add(user)
    make_lead(1, bot=whatsapp, status="REVIEW")
    html = agent_client.get(f"/leads/?bot={whatsapp.pk}&status=REVIEW&page=1").content.decode()
    form = html.split('id="save-view-form"')[1].split("</form>")[0]
    assert f'name="query" value="bot={whatsapp.pk}&amp;status=REVIEW"' in form

    save(agent_client, "Reviews", f"bot={whatsapp.pk}&status=REVIEW", shared=True)
    view = SavedView.objects.get(name="Reviews")
    assert view.bot == whatsapp and view.shared
    # the list remembers another bot now; the view still counts its own
    agent_client.get(f"/leads/?bot={website.pk}")
    assert panel_views(agent_client) == {"Reviews": "1"}

    # every bot: said so, so that the remembered bot does not narrow the view when reopened
    html = agent_client.get("/leads/?bot=all").content.decode()
    assert 'name="query" value="bot=all"' in html.split('id="save-view-form"')[1]


def test_personal_views_are_their_owners_only(client, user, lead_admin, leads):
    client.force_login(user)
    save(client, "Mine", "tag=vip")
    view = SavedView.objects.get(name="Mine")
    client.force_login(lead_admin)
    assert "Mine" not in panel_views(client)
    assert ">Mine</a>" not in client.get("/views/").content.decode()
    for action, data in (("edit", {"name": "Taken"}), ("move", {"direction": "up"})):
        assert client.post(f"/views/{view.pk}/{action}/", data).status_code == 404
    assert client.post(f"/views/{view.pk}/delete/").status_code == 404
    view.refresh_from_db()
    assert view.name == "Mine"


def test_a_view_shared_with_a_bot_is_seen_by_that_bots_team_only(
    client, user, lead_admin, django_user_model
):
    from django.contrib.auth.models import Group

    website = env_bot()
    whatsapp = Bot.objects.create(
        name="WhatsApp", api_url="http://x", remote_bot_id="w", customer_id="c"
    )
    outsider = django_user_model.objects.create_user(username="outsider", password="x-pass-123")
    outsider.groups.add(Group.objects.get(name="Agent"))
    whatsapp.members.add(user)
    website.members.add(outsider)
    client.force_login(user)
    save(client, "Team", f"bot={whatsapp.pk}", shared=True)
    save(client, "Everyone", "bot=all&status=OPEN", shared=True)

    client.force_login(outsider)
    assert set(panel_views(client)) == {"Everyone"}
    view = SavedView.objects.get(name="Team")
    assert ">Team</a>" not in client.get("/views/").content.decode()
    assert client.post(f"/views/{view.pk}/delete/").status_code == 404


def test_shared_views_are_managed_by_their_owner_and_lead_admins_not_other_agents(
    client, user, lead_admin, django_user_model, leads
):
    from django.contrib.auth.models import Group

    colleague = django_user_model.objects.create_user(username="colleague", password="c-pass-123")
    colleague.groups.add(Group.objects.get(name="Agent"))
    client.force_login(user)
    save(client, "Shared", "tag=vip", shared=True)
    view = SavedView.objects.get(name="Shared")

    client.force_login(colleague)
    assert panel_views(client) == {"Shared": "4"}
    client.post(f"/views/{view.pk}/edit/", {"name": "Hijacked", "query": "tag=vip"})
    client.post(f"/views/{view.pk}/delete/")
    view.refresh_from_db()
    assert view.name == "Shared"
    assert f'action="/views/{view.pk}/delete/"' not in client.get("/views/").content.decode()

    client.force_login(lead_admin)
    client.post(f"/views/{view.pk}/edit/", {"name": "VIP (all)", "query": "tag=vip"})
    view.refresh_from_db()
    assert view.name == "VIP (all)" and view.shared  # a lead admin renames; sharing is the owner's
    response = client.post(
        f"/views/{view.pk}/edit/", {"name": "VIP (all)", "query": "tag=vip", "shared_shown": "1"}
    )
    view.refresh_from_db()
    assert view.shared and "Only its owner" in client.get(response["Location"]).content.decode()
    client.post(f"/views/{view.pk}/delete/")
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_the_owner_renames_unshares_reorders_and_deletes(agent_client, user, leads):
    for name in ("First", "Second", "Third"):
        save(agent_client, name, "tag=vip")

    def order() -> list[str]:
        html = agent_client.get("/views/").content.decode()
        return re.findall(r'<a class="fw-semibold" href="[^"]*">([^<]+)</a>', html)

    assert order() == ["First", "Second", "Third"]
    third = SavedView.objects.get(name="Third")
    response = agent_client.post(f"/views/{third.pk}/move/", {"direction": "up"})
    assert response.status_code == 302  # Post/Redirect/Get
    assert order() == ["First", "Third", "Second"]
    agent_client.post(f"/views/{third.pk}/move/", {"direction": "up"})
    agent_client.post(f"/views/{third.pk}/move/", {"direction": "up"})  # already first
    assert order() == ["Third", "First", "Second"]
    assert list(panel_views(agent_client)) == ["Third", "First", "Second"]

    agent_client.post(
        f"/views/{third.pk}/edit/",
        {"name": "Renamed", "query": "?tag=vip&status=CLOSED", "shared_shown": "1", "shared": "1"},
    )
    third.refresh_from_db()
    assert (third.name, third.query, third.shared) == ("Renamed", "tag=vip&status=CLOSED", True)
    agent_client.post(
        f"/views/{third.pk}/edit/", {"name": "Renamed", "query": third.query, "shared_shown": "1"}
    )
    third.refresh_from_db()
    assert not third.shared

    agent_client.post(f"/views/{third.pk}/delete/")
    assert order() == ["First", "Second"]


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("https://evil.example/leads/?status=OPEN", "not an address"),
        ("//evil.example/?status=OPEN", "not an address"),
        ("javascript:alert(1)", "not an address"),
        ("/admin/?status=OPEN", "not an address"),
        ("status=NOPE", "Some filters are not valid"),
        ("updated_after=yesterday", "Some filters are not valid"),
        ("next=/admin/", 'no "next" parameter'),
        ("sort=password", "cannot be sorted"),
        ("per_page=1000", "Rows per page"),
        ("type=admin", '"type" can only be'),
    ],
)
def test_a_query_that_is_not_the_lists_is_refused_and_what_was_typed_kept(
    agent_client, query, reason
):
    response = save(agent_client, "Bad one", query)
    assert response.status_code == 302 and response["Location"] == "/views/"
    assert not SavedView.objects.exists()
    html = agent_client.get("/views/").content.decode()
    form = html.split('id="new-view-form"')[1].split("</form>")[0]
    assert reason in unescape(form)
    assert 'value="Bad one"' in form
    assert 'is-invalid" value="' in form and "Bad one" in form


def test_the_lists_own_address_is_accepted_as_its_query(agent_client, user):
    save(agent_client, "From a URL", "/leads/?status=OPEN&page=3")
    assert SavedView.objects.get(owner=user).query == "status=OPEN"


def test_a_view_of_a_bot_the_person_does_not_see_is_refused(agent_client, user):
    env_bot()
    hidden = Bot.objects.create(
        name="Hidden", api_url="http://x", remote_bot_id="h", customer_id="c"
    )
    save(agent_client, "Theirs", f"bot={hidden.pk}")
    assert not SavedView.objects.exists()
    assert "not one of yours" in agent_client.get("/views/").content.decode()


def test_names_are_required_and_unique_per_person(agent_client, user):
    save(agent_client, "Hot", "tag=hot")
    save(agent_client, "  hot ", "tag=vip")
    save(agent_client, "   ", "tag=vip")
    assert list(SavedView.objects.values_list("name", flat=True)) == ["Hot"]
    html = agent_client.get("/views/").content.decode()
    assert "Give the view a name." in html


def test_a_refused_rename_keeps_what_was_typed_beside_that_view(agent_client, user):
    save(agent_client, "Hot", "tag=hot")
    view = SavedView.objects.get(name="Hot")
    response = agent_client.post(
        f"/views/{view.pk}/edit/", {"name": "Hot v2", "query": "status=WHATEVER"}
    )
    assert response["Location"] == f"/views/#view-{view.pk}"
    html = agent_client.get("/views/").content.decode()
    row = html.split(f'id="view-{view.pk}"')[1].split("</li>")[0]
    assert 'value="Hot v2"' in row and 'value="status=WHATEVER"' in row
    assert "Some filters are not valid" in row
    view.refresh_from_db()
    assert (view.name, view.query) == ("Hot", "tag=hot")


def test_a_view_name_is_escaped_everywhere(agent_client, leads):
    save(agent_client, '<img src=x onerror="alert(1)">', "tag=vip")
    for url in ("/views/", "/views/panel/"):
        html = agent_client.get(url).content.decode()
        assert "<img src=x" not in html and "&lt;img src=x" in html
