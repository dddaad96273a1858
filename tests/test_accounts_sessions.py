"""Signing in and staying signed in: Django's database sessions, the user loaded with their
permissions (leads.accounts.backends), idle expiry, sign-out everywhere a session should end."""

import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from leads.accounts.backends import RoleBackend

pytestmark = pytest.mark.django_db


# --- the user and their permissions, loaded together ------------------------------------------


def _permission(codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label="leads", codename=codename)


@pytest.fixture
def people(django_user_model, user, lead_admin, admin_user, nobody):
    """Every way a permission can be held: a role, two groups with different permissions, a
    direct permission beside a role, a group with no permissions, a superuser, nothing."""
    direct = django_user_model.objects.create_user(username="direct", password="direct-pass-1")
    direct.user_permissions.add(_permission("view_lead_raw"))
    direct.groups.add(Group.objects.get(name="Agent"), Group.objects.create(name="Empty"))
    both = django_user_model.objects.create_user(username="both", password="both-pass-1")
    syncers = Group.objects.create(name="Syncers")
    syncers.permissions.add(_permission("sync_leads"))
    both.groups.add(Group.objects.get(name="Agent"), syncers)
    return [user, lead_admin, admin_user, nobody, direct, both]


def test_the_user_comes_with_exactly_django_s_permissions(people):
    for person in people:
        loaded = RoleBackend().get_user(person.pk)
        fresh = get_user_model().objects.get(pk=person.pk)
        assert loaded.get_all_permissions() == ModelBackend().get_all_permissions(fresh), person
    direct = RoleBackend().get_user(people[4].pk)
    assert direct.get_all_permissions() == {
        "leads.view_lead",
        "leads.view_leadchange",
        "leads.triage_lead",
        "leads.view_lead_raw",
    }
    assert RoleBackend().get_user(people[3].pk).get_all_permissions() == set()
    assert "leads.sync_leads" in RoleBackend().get_user(people[5].pk).get_all_permissions()


def test_permission_checks_cost_no_query_after_the_user_is_loaded(
    people, django_assert_num_queries
):
    agent, lead_admin, superuser, nobody, direct, _both = people
    with django_assert_num_queries(1):
        loaded = RoleBackend().get_user(agent.pk)
    with django_assert_num_queries(0):
        assert loaded.has_perm("leads.triage_lead")
        assert not loaded.has_perm("leads.sync_leads")
        assert loaded.has_perms(["leads.view_lead", "leads.view_leadchange"])
        assert loaded.has_module_perms("leads")
    for person, perm, held in (
        (lead_admin, "leads.sync_leads", True),
        (superuser, "leads.anything_at_all", True),
        (nobody, "leads.view_lead", False),
        (direct, "leads.view_lead_raw", True),
        (direct, "leads.sync_leads", False),
    ):
        assert RoleBackend().get_user(person.pk).has_perm(perm) is held, (person, perm)


def test_an_inactive_or_deleted_user_is_nobody(people):
    agent = people[0]
    agent.is_active = False
    agent.save()
    assert RoleBackend().get_user(agent.pk) is None
    assert not agent.has_perm("leads.view_lead")  # a user object from elsewhere
    agent.delete()
    assert RoleBackend().get_user(agent.pk) is None
    assert RoleBackend().get_user("not a number") is None  # a tampered session
    assert RoleBackend().get_user(str(people[1].pk)).pk == people[1].pk  # as a session holds it


def test_a_user_from_the_database_without_the_backend_still_has_their_permissions(user):
    """authenticate() and the ORM give users that get_user() never saw."""
    plain = get_user_model().objects.get(pk=user.pk)
    assert plain.has_perm("leads.triage_lead") and not plain.has_perm("leads.sync_leads")


def test_a_role_given_takes_effect_on_the_next_request(agent_client, user):
    assert agent_client.post("/sync/now/").status_code == 403
    user.groups.add(Group.objects.get(name="Lead admin"))
    assert agent_client.get("/leads/").status_code == 200
    assert b'id="sync-now"' in agent_client.get("/leads/").content


# --- sessions ------------------------------------------------------------------------------------


def test_a_polled_page_reads_session_and_user_and_nothing_else_for_the_roles(
    agent_client, django_assert_max_num_queries
):
    agent_client.get("/changes/counts/")
    # the session, the user with their permissions, the bots they see, the counts
    with django_assert_max_num_queries(4):
        assert agent_client.get("/changes/counts/").status_code == 200


def test_with_a_shared_cache_a_page_reads_its_session_from_the_cache(
    user, settings, django_assert_max_num_queries
):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    client = Client()
    client.force_login(user)
    client.get("/changes/counts/")
    # the user with their permissions, the bots they see, the counts
    with django_assert_max_num_queries(3):
        assert client.get("/changes/counts/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/leads/").status_code == 302
    assert not Session.objects.exists()


def test_a_session_ends_with_its_users_password_change_or_deactivation(user):
    elsewhere = Client()
    elsewhere.force_login(user)
    user.set_password("a-new-pass-phrase-7")
    user.save()
    assert elsewhere.get("/leads/").status_code == 302  # signed out: the password changed
    elsewhere.force_login(user)
    user.is_active = False
    user.save()
    assert elsewhere.get("/leads/").status_code == 302
    user.is_active = True
    user.save()
    elsewhere.force_login(user)
    assert elsewhere.get("/leads/").status_code == 200


def test_a_deleted_users_next_request_goes_to_the_login_page(user):
    browser, badges = Client(), Client()
    browser.force_login(user)
    badges.cookies = browser.cookies  # another tab of the same browser
    user.delete()
    response = browser.get("/leads/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    poll = badges.get("/changes/counts/", headers={"HX-Request": "true"})
    assert poll.status_code == 200 and poll["HX-Redirect"].startswith("/accounts/login/?next=")


def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(user, settings):
    browser, stolen = Client(), Client()
    browser.force_login(user)
    cookie = settings.SESSION_COOKIE_NAME
    stolen.cookies[cookie] = browser.cookies[cookie].value
    assert stolen.get("/leads/").status_code == 200
    assert browser.post("/accounts/logout/").status_code == 302
    assert stolen.get("/leads/").status_code == 302
    assert not Session.objects.exists()


def test_clearsessions_removes_expired_sessions(user):
    client = Client()
    client.force_login(user)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get("/leads/").status_code == 302  # expired: signed out already
    call_command("clearsessions")
    assert not Session.objects.exists()


def test_a_session_expires_after_the_idle_time_but_polling_does_not_keep_it(user, settings):
    client = Client()
    client.force_login(user)
    key = client.session.session_key
    first_expiry = Session.objects.get(session_key=key).expire_date
    session = client.session
    session["_touched"] = int(time.time()) - 3600  # as if last active an hour ago
    session.save()
    saved = Session.objects.get(session_key=key).expire_date
    client.get("/changes/counts/", headers={"HX-Request": "true"})  # polling: not activity
    assert Session.objects.get(session_key=key).expire_date == saved
    client.get("/leads/")  # a person: the idle clock restarts
    assert Session.objects.get(session_key=key).expire_date >= first_expiry
    assert client.session["_touched"] >= int(time.time()) - 5
    assert settings.SESSION_COOKIE_AGE == 120 * 60
