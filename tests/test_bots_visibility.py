"""Who sees which bots (leads.selectors.bots), and that a lead of a bot a person does not see
is a 404 on every URL, and absent from every list, count, export and bulk action."""

import re

import pytest
from django.contrib.auth.models import Group
from django.http import Http404

from leads import services
from leads.models import Bot, Lead, LeadChange
from leads.selectors.bots import visibility
from tests.factories import env_bot, make_lead, row_status_url

pytestmark = pytest.mark.django_db


def other_bot(name: str = "WhatsApp") -> Bot:
    return Bot.objects.create(
        name=name, api_url="http://127.0.0.1:9", remote_bot_id=f"{name}-id", customer_id="c2"
    )


def names(user) -> list[str]:
    fresh = type(user).objects.get(pk=user.pk)  # visibility is kept on a user object
    return [bot.name for bot in visibility(fresh).bots]


def test_with_one_bot_everyone_with_a_role_sees_it_and_nobody_else(user, lead_admin, nobody):
    env_bot()
    assert names(user) == names(lead_admin) == ["BotPenguin"]
    assert names(nobody) == []


def test_a_second_bot_keeps_everyone_on_the_first_and_shows_the_second_to_its_members(
    user, lead_admin, nobody, admin_user
):
    env_bot()
    second = other_bot()
    # Those who saw the only bot became members of it; the new bot is nobody's yet.
    assert names(user) == names(lead_admin) == ["BotPenguin"]
    assert set(env_bot().members.all()) == {user, lead_admin}
    assert names(nobody) == []
    assert names(admin_user) == ["BotPenguin", "WhatsApp"]  # superusers see every bot
    second.members.add(user)
    assert names(user) == ["BotPenguin", "WhatsApp"]
    assert names(lead_admin) == ["BotPenguin"]


def test_a_third_bot_adds_nobody_to_any_team(user):
    env_bot()
    other_bot("WhatsApp")
    env_bot().members.remove(user)
    other_bot("Website")
    assert names(user) == []


def test_a_role_given_later_does_not_open_a_bot_of_a_team_one_is_not_in(django_user_model):
    env_bot()
    other_bot()
    late = django_user_model.objects.create_user(username="late", password="late-pass-123")
    late.groups.add(Group.objects.get(name="Agent"))
    assert names(late) == []


@pytest.fixture
def two_teams(botpenguin, user, lead_admin):
    """Bot A (the environment's, pointed at the sandbox) with a lead, a pending and a failed
    change; bot B with a lead and a failed change. The agent and the lead admin are members of
    A only."""
    bot_a = env_bot()
    bot_b = other_bot()
    bot_a.members.add(user, lead_admin)
    bot_b.members.clear()
    mine = make_lead(1, bot=bot_a, name="Mine Amala", sandbox=botpenguin.sandbox)
    theirs = make_lead(2, bot=bot_b, name="Theirs Tomas", status="REVIEW", tags=["vip"])
    failed_b = LeadChange.objects.create(lead=theirs, action="status", state="failed")
    LeadChange.objects.create(lead=theirs, action="status", state="pending")
    failed_a = LeadChange.objects.create(lead=mine, action="status", state="failed")
    return {
        "a": bot_a,
        "b": bot_b,
        "mine": mine,
        "theirs": theirs,
        "failed_b": failed_b,
        "failed_a": failed_a,
    }


def lead_urls(uuid: str) -> list[tuple[str, str, dict]]:
    return [
        ("get", f"/leads/{uuid}/", {}),
        ("post", f"/leads/{uuid}/row-status/", {"status": "CLOSED"}),
        ("post", f"/leads/{uuid}/edit/status/", {"status": "CLOSED"}),
        ("post", f"/leads/{uuid}/edit/note/", {"title": "t", "description": "d"}),
        ("post", f"/leads/{uuid}/edit/tags/", {"tag": "new"}),
        ("post", f"/leads/{uuid}/edit/tags/", {"remove": "vip"}),
        (
            "post",
            f"/leads/{uuid}/edit/contact/",
            {"name": "X", "attr-TOTAL_FORMS": "0", "attr-INITIAL_FORMS": "0"},
        ),
    ]


@pytest.mark.parametrize("who", ["agent", "lead admin"])
def test_every_url_of_a_lead_of_another_bot_is_a_404(client, two_teams, user, lead_admin, who):
    client.force_login(user if who == "agent" else lead_admin)
    theirs = two_teams["theirs"]
    for (method, url, data), (_, unknown_url, _) in zip(
        lead_urls(theirs.uuid), lead_urls("no-such-uuid"), strict=True
    ):
        response = getattr(client, method)(url, data)
        if who == "agent" and "/contact/" in url:
            # A role check comes first, and answers the same for a uuid that exists nowhere.
            assert response.status_code == client.post(unknown_url, data).status_code == 403
            continue
        assert response.status_code == 404, (who, url, response.status_code)
        assert b"Theirs Tomas" not in response.content
    # Naming the bot in the URL does not open it either.
    assert client.get(f"/leads/{theirs.uuid}/?bot={two_teams['b'].pk}").status_code == 404
    theirs.refresh_from_db()
    assert (theirs.status, theirs.tags, theirs.notes, theirs.name) == (
        "REVIEW",
        ["vip"],
        [],
        "Theirs Tomas",
    )
    assert (
        not LeadChange.objects.filter(lead=theirs)
        .exclude(pk__in=[two_teams["failed_b"].pk])
        .exclude(state="pending")
        .exists()
    )


def test_retry_and_discard_of_another_bots_change_are_404(lead_admin_client, two_teams):
    failed_b = two_teams["failed_b"]
    for action in ("retry", "discard"):
        response = lead_admin_client.post(f"/changes/{failed_b.pk}/{action}/")
        assert response.status_code == 404
    failed_b.refresh_from_db()
    assert failed_b.state == "failed"
    # "Retry all failed" retries this person's bots' edits only.
    lead_admin_client.post("/changes/retry-failed/")
    failed_b.refresh_from_db()
    assert failed_b.state == "failed"
    assert (
        two_teams["failed_a"].__class__.objects.get(pk=two_teams["failed_a"].pk).state != "failed"
    )


def test_lists_counts_exports_and_activity_leave_another_bot_out(agent_client, two_teams):
    theirs = two_teams["theirs"]
    pages = [
        agent_client.get("/leads/"),
        agent_client.get("/leads/?status=REVIEW"),
        agent_client.get(f"/leads/?bot={two_teams['b'].pk}"),
        agent_client.get("/leads/?q=Theirs"),
        agent_client.get("/leads/?_export=csv"),
        agent_client.get("/activity/"),
        agent_client.get("/"),
    ]
    for page in pages:
        assert page.status_code == 200
        assert theirs.uuid.encode() not in page.content
        assert b"Theirs Tomas" not in page.content
    assert pages[1].context["status_counts"]["REVIEW"] == 0
    assert pages[0].context["status_counts"]["all"] == 1
    assert pages[6].context["counts"]["leads"] == 1
    # The navigation's badges: bot A has one failed edit and no pending one.
    badges = agent_client.get("/changes/counts/").content.decode()
    assert "1 failed" in badges and "pending" not in badges
    assert b"vip" not in agent_client.get("/leads/tags/").content


def test_bulk_on_all_matching_and_on_a_chosen_uuid_leaves_another_bot_alone(
    agent_client, two_teams
):
    theirs, mine = two_teams["theirs"], two_teams["mine"]
    agent_client.post(
        "/leads/bulk/",
        {"action": "set_status", "status": "CLOSED", "all_matching": "1", "query": ""},
    )
    agent_client.post(
        "/leads/bulk/",
        {"action": "add_tag", "tag": "bulk", "selected": [theirs.uuid, mine.uuid], "query": ""},
    )
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert (theirs.status, theirs.tags) == ("REVIEW", ["vip"])
    assert (mine.status, mine.tags) == ("CLOSED", ["bulk"])


def test_the_services_refuse_a_lead_of_another_bot_as_not_found(two_teams, user, lead_admin):
    with pytest.raises(Http404):
        services.lead_set_status(lead=two_teams["theirs"], status="CLOSED", user=user)
    for resolve in (services.change_discard, services.change_retry):
        with pytest.raises(Http404):
            resolve(change=two_teams["failed_b"], user=lead_admin)
    assert LeadChange.objects.get(pk=two_teams["failed_b"].pk).state == "failed"
    result = services.leads_bulk_set_status(leads=Lead.objects.all(), status="ONHOLD", user=user)
    touched = result.changed + result.pending + result.unchanged + [f[0] for f in result.failed]
    assert [lead.pk for lead in touched] == [two_teams["mine"].pk]
    assert Lead.objects.get(pk=two_teams["theirs"].pk).status == "REVIEW"


def test_the_admin_shows_no_lead_change_or_run_of_another_bot(lead_admin_client, two_teams):
    theirs = two_teams["theirs"]
    assert lead_admin_client.get(f"/admin/leads/lead/{theirs.pk}/change/").status_code == 404
    assert lead_admin_client.get(f"/admin/leads/lead/{theirs.pk}/history/").status_code == 404
    response = lead_admin_client.post(
        f"/admin/leads/lead/{theirs.pk}/change/", {"name": "Hijack", "status": "OPEN"}
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Theirs Tomas"
    listing = lead_admin_client.get("/admin/leads/lead/")
    assert b"Theirs Tomas" not in listing.content and b"Mine Amala" in listing.content
    changes = lead_admin_client.get("/admin/leads/leadchange/").content.decode()
    assert "Theirs Tomas" not in changes and "Mine Amala" in changes
    change_page = f"/admin/leads/leadchange/{two_teams['failed_b'].pk}/change/"
    assert lead_admin_client.get(change_page).status_code == 404


def test_a_person_in_no_team_is_told_why_and_whom_to_ask(client, two_teams, nobody, admin_user):
    admin_user.first_name, admin_user.last_name = "Bea", "Boss"
    admin_user.save()
    nobody.groups.add(Group.objects.get(name="Agent"))  # a role, but in no bot's team
    client.force_login(nobody)
    for url in ("/", "/leads/"):
        page = client.get(url).content.decode()
        assert "not a member of any bot" in page
        assert "Bea Boss" in page and "Lena" in page  # the superuser and the lead admin
        assert "Mine Amala" not in page and "Theirs Tomas" not in page
    assert client.get(f"/leads/{two_teams['mine'].uuid}/").status_code == 404


def test_the_same_uuid_in_two_bots_one_sees(staff_client, two_teams):
    mine, bot_b = two_teams["mine"], two_teams["b"]
    bot_b.set_token("bot-b-token")  # configured, but nothing listens: its edits wait
    bot_b.save()
    twin = make_lead(1, bot=bot_b, name="Twin Tara")  # the same uuid in bot B
    assert mine.uuid == twin.uuid
    # Without ?bot= the lowest bot id; with it, that bot's lead.
    assert "Mine Amala" in staff_client.get(f"/leads/{mine.uuid}/").content.decode()
    page = staff_client.get(f"/leads/{mine.uuid}/?bot={bot_b.pk}").content.decode()
    assert "Twin Tara" in page
    # The detail page's forms post to that very lead.
    assert f'/leads/{mine.uuid}/edit/status/?bot={bot_b.pk}"' in page
    # A row's inline status change names its bot, so the twin in the "All bots" list is the one
    # changed.
    listing = staff_client.get("/leads/?bot=all").content.decode()
    rows = re.findall(rf'<tr data-uuid="{mine.uuid}".*?</tr>', listing, re.S)
    assert {row_status_url(row) for row in rows} == {
        f"/leads/{mine.uuid}/row-status/?bot={bot}" for bot in (mine.bot_id, bot_b.pk)
    }
    response = staff_client.post(
        f"/leads/{mine.uuid}/row-status/?bot={bot_b.pk}", {"status": "ONHOLD"}
    )
    assert response.status_code == 302
    twin.refresh_from_db()
    mine.refresh_from_db()
    assert (twin.status, twin.change_state) == ("ONHOLD", "pending")
    assert mine.status == "OPEN"


def test_visibility_is_one_query(user, django_assert_num_queries):
    env_bot()
    other_bot().members.add(user)
    fresh = type(user).objects.get(pk=user.pk)
    with django_assert_num_queries(1):
        seen = visibility(fresh)
        assert visibility(fresh) is seen
    assert seen.several and seen.every_bot


def test_every_role_holds_the_permission_the_single_bot_rule_reads():
    from leads.accounts.permissions import ROLE_PERMISSIONS
    from leads.selectors.bots import ROLE_PERMISSION

    assert all(ROLE_PERMISSION in perms for perms in ROLE_PERMISSIONS.values())
