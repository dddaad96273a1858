"""Roles: who may do what (every view, htmx endpoint, export, admin page and action, and the
services underneath), and CSRF on every POST."""

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.core.exceptions import PermissionDenied
from django.test import Client

from leads import services
from leads.models import Lead, LeadChange
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "nobody", "agent", "lead_admin", "superuser")
VIEWERS = {"agent", "lead_admin", "superuser"}
ADMINS = {"lead_admin", "superuser"}


@dataclass
class Endpoint:
    name: str
    method: str
    url: str
    allowed: set[str]
    data: dict | None = None
    htmx: bool = False
    admin: bool = False  # the Django admin: others go to its own login page


@pytest.fixture
def world(botpenguin, user, lead_admin, admin_user, nobody):
    """One lead in the mirror and the sandbox, one failed change, and a client per role."""
    lead = make_lead(1, sandbox=botpenguin.sandbox, tags=["vip"])
    # on another lead: a failed change holds back its lead's later edits until resolved
    stuck = make_lead(2, sandbox=botpenguin.sandbox)
    failed = LeadChange.objects.create(
        lead=stuck,
        user=user,
        action="status",
        before={"status": "OPEN"},
        after={"status": "CLOSED"},
        state=LeadChange.State.FAILED,
    )
    people = {"nobody": nobody, "agent": user, "lead_admin": lead_admin, "superuser": admin_user}
    clients = {"anonymous": Client()}
    for role, person in people.items():
        clients[role] = Client()
        clients[role].force_login(person)
    return {"lead": lead, "failed": failed, "clients": clients, "sandbox": botpenguin.sandbox}


def endpoints(lead: Lead, failed: LeadChange) -> list[Endpoint]:
    u = lead.uuid
    return [
        Endpoint("home", "get", "/", VIEWERS),
        Endpoint("list", "get", "/leads/", VIEWERS),
        Endpoint("list, other chats", "get", "/leads/?type=non-lead", VIEWERS),
        Endpoint("export csv", "get", "/leads/?_export=csv", VIEWERS),
        Endpoint("export xlsx", "get", "/leads/?_export=xlsx", VIEWERS),
        Endpoint("tag options (htmx)", "get", "/leads/tags/", VIEWERS, htmx=True),
        Endpoint("detail", "get", f"/leads/{u}/", VIEWERS),
        Endpoint("activity", "get", "/activity/", VIEWERS),
        Endpoint("change counts (htmx)", "get", "/changes/counts/", VIEWERS, htmx=True),
        Endpoint("sync status (htmx)", "get", "/sync/status/", VIEWERS, htmx=True),
        Endpoint(
            "row status (htmx)",
            "post",
            f"/leads/{u}/row-status/",
            VIEWERS,
            {"status": "REVIEW"},
            htmx=True,
        ),
        Endpoint(
            "bulk",
            "post",
            "/leads/bulk/",
            VIEWERS,
            {"action": "add_tag", "tag": "bulk", "selected": [u]},
        ),
        Endpoint("status", "post", f"/leads/{u}/edit/status/", VIEWERS, {"status": "ONHOLD"}),
        Endpoint(
            "note",
            "post",
            f"/leads/{u}/edit/note/",
            VIEWERS,
            {"title": "Called", "description": "no answer"},
        ),
        Endpoint("tags", "post", f"/leads/{u}/edit/tags/", VIEWERS, {"tag": "hot"}),
        Endpoint(
            "contact",
            "post",
            f"/leads/{u}/edit/contact/",
            ADMINS,
            {
                "name": "New Name",
                "email": "",
                "dial_code": "",
                "phone": "",
                "picture": "",
                "agent_id": "",
                "attr-TOTAL_FORMS": "0",
                "attr-INITIAL_FORMS": "0",
            },
        ),
        Endpoint("retry", "post", f"/changes/{failed.pk}/retry/", ADMINS),
        Endpoint("discard", "post", f"/changes/{failed.pk}/discard/", ADMINS),
        Endpoint("retry all failed", "post", "/changes/retry-failed/", ADMINS),
        Endpoint("sync now (htmx)", "post", "/sync/now/", ADMINS, htmx=True),
        Endpoint("admin index", "get", "/admin/", ADMINS, admin=True),
        Endpoint("admin leads", "get", "/admin/leads/lead/", ADMINS, admin=True),
        Endpoint("admin lead", "get", f"/admin/leads/lead/{lead.pk}/change/", ADMINS, admin=True),
        Endpoint("admin changes", "get", "/admin/leads/leadchange/", ADMINS, admin=True),
        Endpoint("admin sync runs", "get", "/admin/leads/syncrun/", ADMINS, admin=True),
        Endpoint(
            "admin action: retry",
            "post",
            "/admin/leads/leadchange/",
            ADMINS,
            {"action": "retry_changes", "_selected_action": [failed.pk]},
            admin=True,
        ),
        Endpoint("admin users", "get", "/admin/auth/user/", {"superuser"}, admin=True),
    ]


ENDPOINT_NAMES = [e.name for e in endpoints(Lead(uuid="x"), LeadChange(pk=1))]
POST_NAMES = [e.name for e in endpoints(Lead(uuid="x"), LeadChange(pk=1)) if e.method == "post"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", ENDPOINT_NAMES)
def test_permission_matrix(world, role, name):
    endpoint = next(e for e in endpoints(world["lead"], world["failed"]) if e.name == name)
    client = world["clients"][role]
    headers = {"HX-Request": "true"} if endpoint.htmx else {}
    response = getattr(client, endpoint.method)(endpoint.url, endpoint.data or {}, headers=headers)
    if role == "anonymous":
        if endpoint.admin:
            assert response.status_code == 302 and "login/?next=/admin/" in response["Location"]
        elif endpoint.htmx:
            # htmx is sent to the login page as a whole, not a login form inside a badge
            assert response.status_code == 200 and response["HX-Redirect"].startswith(
                "/accounts/login/?next="
            )
        else:
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/login/?next=")
    elif role in endpoint.allowed:
        assert response.status_code in (200, 302), (response.status_code, response.content[:300])
        if response.status_code == 302:
            assert "login" not in response["Location"]
    elif endpoint.admin:
        if role == "lead_admin":  # staff, but without that model's permissions
            assert response.status_code == 403
        else:  # not staff: the admin's login page
            assert response.status_code == 302 and "/admin/login/" in response["Location"]
    else:
        assert response.status_code == 403


def test_a_denied_edit_changes_nothing_and_sends_nothing(world):
    lead, sandbox = world["lead"], world["sandbox"]
    agent, nobody = world["clients"]["agent"], world["clients"]["nobody"]
    before = Lead.objects.get(pk=lead.pk)
    assert nobody.post(f"/leads/{lead.uuid}/edit/status/", {"status": "ONHOLD"}).status_code == 403
    bulk = {"action": "set_status", "status": "ONHOLD", "all_matching": "on"}
    assert nobody.post("/leads/bulk/", bulk).status_code == 403
    contact = {
        "name": "Hijack",
        "email": "",
        "dial_code": "",
        "phone": "",
        "picture": "",
        "agent_id": "",
        "attr-TOTAL_FORMS": "0",
        "attr-INITIAL_FORMS": "0",
    }
    assert agent.post(f"/leads/{lead.uuid}/edit/contact/", contact).status_code == 403
    assert agent.post(f"/changes/{world['failed'].pk}/discard/").status_code == 403
    after = Lead.objects.get(pk=lead.pk)
    assert (after.status, after.name, after.version) == (before.status, before.name, before.version)
    assert sandbox.puts() == []
    assert LeadChange.objects.get(pk=world["failed"].pk).state == LeadChange.State.FAILED


def test_agent_edits_reach_botpenguin_and_the_denial_page_says_why(world):
    lead, sandbox = world["lead"], world["sandbox"]
    agent = world["clients"]["agent"]
    assert agent.post(f"/leads/{lead.uuid}/edit/status/", {"status": "REVIEW"}).status_code == 302
    assert sandbox.puts(lead.uuid)[-1].body["status"] == "REVIEW"
    denied = agent.post("/sync/now/")
    assert denied.status_code == 403
    assert "Only lead admins may start a sync." in denied.content.decode()


def test_detail_shows_raw_json_and_admin_controls_to_lead_admins_only(world):
    lead = world["failed"].lead
    agent_page = world["clients"]["agent"].get(f"/leads/{lead.uuid}/").content.decode()
    admin_page = world["clients"]["lead_admin"].get(f"/leads/{lead.uuid}/").content.decode()
    for page, shown in ((agent_page, False), (admin_page, True)):
        assert ('id="contact-form"' in page) is shown
        assert ("Raw JSON" in page or "raw-json" in page) is shown
        assert (f"/changes/{world['failed'].pk}/discard/" in page) is shown
    assert 'id="status-form"' in agent_page


@pytest.mark.parametrize(
    "call",
    [
        lambda lead, u: services.lead_set_status(lead=lead, status="REVIEW", user=u),
        lambda lead, u: services.lead_add_note(lead=lead, title="t", description="d", user=u),
        lambda lead, u: services.lead_add_tag(lead=lead, tag="x", user=u),
        lambda lead, u: services.leads_bulk_set_status(
            leads=Lead.objects.all(), status="REVIEW", user=u
        ),
    ],
    ids=["status", "note", "tag", "bulk"],
)
def test_services_refuse_a_person_without_a_role(world, nobody, call):
    for person in (nobody, AnonymousUser()):
        with pytest.raises(PermissionDenied):
            call(world["lead"], person)
    assert world["sandbox"].puts() == []
    assert Lead.objects.get(pk=world["lead"].pk).status == "OPEN"


def test_services_keep_admin_actions_for_lead_admins(world, user, lead_admin):
    lead, failed = world["lead"], world["failed"]
    with pytest.raises(PermissionDenied):
        services.lead_update_contact(lead=lead, user=user, name="Hijack")
    with pytest.raises(PermissionDenied):
        services.lead_update(lead=lead, user=user, changes={"email": "x@example.org"})
    with pytest.raises(PermissionDenied):
        services.change_discard(change=failed, user=user)
    with pytest.raises(PermissionDenied):
        services.changes_retry_failed(user=user)
    with pytest.raises(PermissionDenied):
        services.sync_start(user=user)
    # an agent may change the triage fields through the generic update
    services.lead_update(lead=lead, user=user, changes={"status": "REVIEW"})
    change = services.lead_update_contact(lead=lead, user=lead_admin, name="Renamed")
    assert change.state == LeadChange.State.DELIVERED
    assert world["sandbox"].get_chat(lead.uuid)["profile"]["userDetails"]["name"] == "Renamed"


def test_roles_come_from_the_migration_with_their_permissions():
    agent = set(Group.objects.get(name="Agent").permissions.values_list("codename", flat=True))
    admin = set(Group.objects.get(name="Lead admin").permissions.values_list("codename", flat=True))
    assert agent == {"view_lead", "view_leadchange", "triage_lead"}
    assert agent < admin
    admin_only = {
        "edit_lead_contact",
        "view_lead_raw",
        "sync_leads",
        "resolve_lead_changes",
        "change_lead",
    }
    assert admin_only <= admin


def test_a_role_removed_takes_effect_on_the_next_request(world, user):
    agent = world["clients"]["agent"]
    assert agent.get("/leads/").status_code == 200
    user.groups.clear()
    assert agent.get("/leads/").status_code == 403


# --- CSRF -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", POST_NAMES)
def test_every_post_needs_the_csrf_token(world, name, admin_user):
    endpoint = next(e for e in endpoints(world["lead"], world["failed"]) if e.name == name)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(endpoint.url, endpoint.data or {})
    assert response.status_code == 403
    assert world["sandbox"].puts() == []


@pytest.mark.django_db
def test_every_role_holds_every_permission_it_names():
    """ensure_roles skips a permission whose model a migration has not made yet (it runs again
    after every migrate), so a misspelt one would be skipped too: after migrate, none is."""
    from django.contrib.auth.models import Group

    from leads.accounts.permissions import ROLE_PERMISSIONS

    for name, perms in ROLE_PERMISSIONS.items():
        held = {
            f"{app}.{codename}"
            for app, codename in Group.objects.get(name=name).permissions.values_list(
                "content_type__app_label", "codename"
            )
        }
        assert held == set(perms), name
