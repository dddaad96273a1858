"""Roles and hostile input: who may do what (every view, htmx endpoint, export, admin page and
action, and the services underneath), CSRF on every POST, hostile API data shown as text
everywhere, and the API token in no page, export, log line or /healthz."""

import csv
import io
import logging
import re
from dataclasses import dataclass

import openpyxl
import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import Client

from leads import services
from leads.models import Lead, LeadChange, PasswordChangeRequired
from tests.factories import SANDBOX_TOKEN, as_chat, make_lead

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
        lead=stuck, user=user, action="status", before={"status": "OPEN"},
        after={"status": "CLOSED"}, state=LeadChange.State.FAILED,
    )  # fmt: skip
    clients = {"anonymous": Client()}
    for role, person in (("nobody", nobody), ("agent", user), ("lead_admin", lead_admin),
                         ("superuser", admin_user)):  # fmt: skip
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
        ),  # fmt: skip
        Endpoint(
            "bulk",
            "post",
            "/leads/bulk/",
            VIEWERS,
            {"action": "add_tag", "tag": "bulk", "selected": [u]},
        ),  # fmt: skip
        Endpoint("status", "post", f"/leads/{u}/edit/status/", VIEWERS, {"status": "ONHOLD"}),
        Endpoint(
            "note",
            "post",
            f"/leads/{u}/edit/note/",
            VIEWERS,
            {"title": "Called", "description": "no answer"},
        ),  # fmt: skip
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
        ),  # fmt: skip
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
        ),  # fmt: skip
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
    assert nobody.post("/leads/bulk/", {"action": "set_status", "status": "ONHOLD",
                                        "all_matching": "on"}).status_code == 403  # fmt: skip
    contact = {"name": "Hijack", "email": "", "dial_code": "", "phone": "", "picture": "",
               "agent_id": "", "attr-TOTAL_FORMS": "0", "attr-INITIAL_FORMS": "0"}  # fmt: skip
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
    from django.contrib.auth.models import AnonymousUser

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
    assert {"edit_lead_contact", "view_lead_raw", "sync_leads", "resolve_lead_changes",
            "change_lead"} <= admin  # fmt: skip


def test_a_role_removed_takes_effect_on_the_next_request(world, user):
    agent = world["clients"]["agent"]
    assert agent.get("/leads/").status_code == 200
    user.groups.clear()
    assert agent.get("/leads/").status_code == 403


# --- sessions read with their user (leads.accounts.sessions) ---------------------------------------------


def test_a_page_reads_its_session_and_user_in_one_query(user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leads.models import BrowserSession

    client = Client()
    client.force_login(user)
    assert BrowserSession.objects.get(session_key=client.session.session_key).user == user
    client.get("/changes/counts/")
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/changes/counts/").status_code == 200
    session_reads = [q["sql"] for q in ctx.captured_queries if "browsersession" in q["sql"]]
    assert len(session_reads) == 1 and "auth_user" in session_reads[0]
    assert not any(q["sql"].startswith('SELECT "auth_user"') for q in ctx.captured_queries)


def test_a_session_still_ends_with_its_users_password_deletion_or_deactivation(user):
    """The user comes with the session's own query, but Django checks it as ever."""
    from leads.models import BrowserSession

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
    user.delete()
    assert not BrowserSession.objects.exists()  # a user's sessions go with the user
    assert elsewhere.get("/leads/").status_code == 302


def test_the_user_a_session_read_is_taken_once_and_only_for_that_user(user, admin_user):
    from leads.accounts.sessions import SessionStore, take_loaded_user
    from leads.models import BrowserSession

    client = Client()
    client.force_login(user)
    key = client.session.session_key
    SessionStore(key).load()
    assert take_loaded_user(admin_user.pk) is None  # another id: not this session's user
    assert take_loaded_user(user.pk) is None  # …and asking forgot it
    SessionStore(key).load()
    taken = take_loaded_user(str(user.pk))  # session keys hold ids as strings
    assert taken == user and taken.has_perm("leads.triage_lead")
    assert take_loaded_user(user.pk) is None
    client.logout()
    assert not BrowserSession.objects.filter(session_key=key).exists()
    assert SessionStore(key).load() == {} and take_loaded_user(user.pk) is None


def test_clearsessions_removes_expired_browser_sessions(user):
    from datetime import timedelta

    from django.utils import timezone

    from leads.models import BrowserSession

    client = Client()
    client.force_login(user)
    BrowserSession.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    call_command("clearsessions")
    assert not BrowserSession.objects.exists()


# --- CSRF -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", POST_NAMES)
def test_every_post_needs_the_csrf_token(world, name, admin_user):
    endpoint = next(e for e in endpoints(world["lead"], world["failed"]) if e.name == name)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(endpoint.url, endpoint.data or {})
    assert response.status_code == 403
    assert world["sandbox"].puts() == []


def test_login_and_logout_need_the_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "agent", "password": "agent-pass-123"})
    assert response.status_code == 403
    client.force_login(user)
    assert client.post("/accounts/logout/").status_code == 403


# --- createagent, one-time passwords, throttling, sessions ------------------------------------------


def test_createagent_prints_a_one_time_password_that_must_be_changed(capsys):
    call_command("createagent", "meera", "--admin", "--email", "meera@example.org")
    out = capsys.readouterr().out
    password = out.split("One-time password: ")[1].split()[0]
    from django.contrib.auth import get_user_model

    meera = get_user_model().objects.get(username="meera")
    assert meera.groups.filter(name="Lead admin").exists() and meera.is_staff
    assert not meera.is_superuser
    assert PasswordChangeRequired.objects.filter(user=meera).exists()

    client = Client()
    response = client.post("/accounts/login/", {"username": "meera", "password": password})
    assert response.status_code == 302
    # anything else sends them to choose a password first
    response = client.get("/leads/")
    assert response.status_code == 302 and response["Location"] == "/accounts/password_change/"
    response = client.post("/accounts/password_change/", {
        "old_password": password, "new_password1": "a-Long-new-pass-42",
        "new_password2": "a-Long-new-pass-42"})  # fmt: skip
    assert response.status_code == 302
    assert client.get("/leads/").status_code == 200
    assert not PasswordChangeRequired.objects.filter(user=meera).exists()


def test_createagent_makes_an_agent_and_resets_an_existing_one(capsys, django_user_model):
    call_command("createagent", "arjun")
    first = capsys.readouterr().out.split("One-time password: ")[1].split()[0]
    arjun = django_user_model.objects.get(username="arjun")
    assert list(arjun.groups.values_list("name", flat=True)) == ["Agent"]
    assert not arjun.is_staff
    call_command("createagent", "arjun")
    second = capsys.readouterr().out.split("One-time password: ")[1].split()[0]
    arjun.refresh_from_db()
    assert first != second and arjun.check_password(second) and not arjun.check_password(first)


def test_createagent_refuses_a_bad_username():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="Invalid username"):
        call_command("createagent", "no spaces allowed")


def test_login_throttling_locks_the_account_from_that_address(user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client(REMOTE_ADDR="10.9.8.7")
    for _ in range(3):
        response = client.post("/accounts/login/", {"username": "agent", "password": "wrong"})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    # locked out even with the right password now
    response = client.post("/accounts/login/", {"username": "agent", "password": "agent-pass-123"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # the same account from another address still signs in
    other = Client(REMOTE_ADDR="10.9.8.8")
    response = other.post("/accounts/login/", {"username": "agent", "password": "agent-pass-123"})
    assert response.status_code == 302


def test_a_few_wrong_passwords_then_the_right_one_resets_the_count(user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client(REMOTE_ADDR="10.9.8.9")
    for _ in range(2):
        client.post("/accounts/login/", {"username": "agent", "password": "wrong"})
    ok = client.post("/accounts/login/", {"username": "agent", "password": "agent-pass-123"})
    assert ok.status_code == 302
    client.logout()
    for _ in range(2):
        response = client.post("/accounts/login/", {"username": "agent", "password": "wrong"})
    assert response.status_code == 200  # a form error, not yet a lockout


def test_behind_a_proxy_the_forwarded_address_is_the_one_counted(user, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = Client(REMOTE_ADDR="127.0.0.1")
    for _ in range(2):
        response = proxy.post("/accounts/login/", {"username": "agent", "password": "x"},
                              headers={"X-Forwarded-For": "203.0.113.5"})  # fmt: skip
    assert response.status_code == 429
    # another client behind the same proxy is not locked out (spoofed left-most hops ignored)
    response = proxy.post("/accounts/login/", {"username": "agent", "password": "agent-pass-123"},
                          headers={"X-Forwarded-For": "203.0.113.5, 198.51.100.7"})  # fmt: skip
    assert response.status_code == 302


def test_a_session_expires_after_the_idle_time_but_polling_does_not_keep_it(user, settings):
    import time

    from leads.models import BrowserSession as Session  # noqa: N814  (Django's name for it)

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


# --- hostile data from the API -----------------------------------------------------------------

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
FORMULA = '=HYPERLINK("http://evil.example","click")'


def hostile_chat(lead_uuid: str) -> dict:
    lead = Lead(
        uuid=lead_uuid, remote_id="abc123", name=XSS, email=f"{XSS}@example.org",
        phone="+cmd|' /C calc'!A0", dial_code="+91", status="OPEN", agent_id="",
        tags=[XSS, FORMULA], notes=[{"id": "n1", "title": XSS, "description": XSS}],
        attributes=[{"key": XSS, "value": "@SUM(1+1)"}], picture="javascript:alert(1)",
    )  # fmt: skip
    from tests.factories import BASE

    lead.remote_created_at = lead.remote_updated_at = BASE
    chat = as_chat(lead)
    chat["_agentAssigned"] = XSS
    details = chat["profile"]["userDetails"]
    details.update(city=XSS, country=FORMULA, gender=XSS)
    chat["lastMessage"] = {"at": "2026-10-01T12:00:00Z", "by": XSS, "text": XSS}
    return chat


@pytest.fixture
def hostile(botpenguin, admin_user):
    uuid = "11111111-2222-4333-8444-555555555555"
    botpenguin.sandbox.add_chat(hostile_chat(uuid))
    data_uri = hostile_chat("11111111-2222-4333-8444-666666666666")
    data_uri["profile"]["userDetails"]["picture"] = "data:text/html;base64,PHNjcmlwdD4="
    botpenguin.sandbox.add_chat(data_uri)
    call_command("sync_leads")
    client = Client()
    client.force_login(admin_user)
    return {"lead": Lead.objects.get(uuid=uuid), "client": client}


def body(response) -> bytes:
    return response.content if not response.streaming else b"".join(response.streaming_content)


def test_hostile_strings_are_plain_text_on_every_page(hostile):
    lead, client = hostile["lead"], hostile["client"]
    assert lead.name == XSS  # stored as sent
    pages = ["/", "/leads/", "/leads/?q=alert", f"/leads/{lead.uuid}/", "/activity/",
             "/admin/leads/lead/", f"/admin/leads/lead/{lead.pk}/change/", "/leads/tags/"]  # fmt: skip
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "<script>alert" not in html, url
        assert "<img src=x" not in html, url
        # shown as text at most, never as a link or an image
        assert not re.search(r'(src|href|action)="\s*(javascript|data):', html, re.I), url
    detail = client.get(f"/leads/{lead.uuid}/").content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in detail


def test_pictures_only_http_or_https_reach_src_or_href(hostile, botpenguin):
    client = hostile["client"]
    for picture, shown in (("https://cdn.example.org/a.png", True),
                           ("http://cdn.example.org/b.png", True),
                           ("javascript:alert(1)", False), ("JaVaScRiPt:alert(1)", False),
                           ("data:image/png;base64,AAAA", False), ("//evil.example/x.png", False),
                           ("vbscript:msgbox(1)", False)):  # fmt: skip
        lead = make_lead(50, picture=picture, uuid="pic-" + str(abs(hash(picture))))
        for url in ("/leads/", f"/leads/{lead.uuid}/"):
            html = client.get(url).content.decode()
            assert (f'src="{picture}"' in html) is shown, (picture, url)
            assert f'href="{picture}"' not in html or shown
        lead.delete()


def test_external_links_do_not_leak_the_opener(hostile):
    client = hostile["client"]
    make_lead(60, picture="https://cdn.example.org/a.png", email="x@example.org")
    for url in ("/leads/", f"/leads/{Lead.objects.get(remote_id=f'{60:024x}').uuid}/"):
        html = client.get(url).content.decode()
        for tag in re.findall(r'<a [^>]*href="https?://[^"]*"[^>]*>', html):
            assert 'rel="noopener noreferrer"' in tag, tag


def test_exports_neutralise_formulas_and_keep_the_text(hostile):
    client = hostile["client"]
    text = body(client.get("/leads/?_export=csv")).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    row = next(r for r in rows if r["Name"].endswith(XSS))
    for column in ("Phone", "Country"):
        assert row[column][0] not in "=+-@", (column, row[column])
    assert row["Country"] == "'" + FORMULA
    assert XSS in row["Name"]
    for value in (v for r in rows for v in r.values()):
        assert not value or value[0] not in "=+-@", value
    book = openpyxl.load_workbook(io.BytesIO(body(client.get("/leads/?_export=xlsx"))))
    for sheet_row in book.active.iter_rows(values_only=True):
        for value in sheet_row:
            if isinstance(value, str) and value:
                assert value[0] not in "=+-@", value
    assert SANDBOX_TOKEN not in text


def test_the_token_is_in_no_page_export_log_or_health_report(hostile, caplog, lead_admin):
    caplog.set_level(logging.DEBUG)
    lead, client = hostile["lead"], hostile["client"]
    # exercise failures too: a refused edit and a failed sync write error messages
    hostile_box = Lead.objects.get(pk=lead.pk)
    services.lead_set_status(lead=hostile_box, status="REVIEW", user=lead_admin)
    seen = []
    for url in ("/", "/leads/", f"/leads/{lead.uuid}/", "/leads/?_export=csv",
                "/leads/?_export=xlsx", "/activity/", "/healthz", "/sync/status/",
                "/changes/counts/", "/admin/leads/lead/", f"/admin/leads/lead/{lead.pk}/change/",
                "/admin/leads/leadchange/", "/admin/leads/syncrun/", "/nonexistent/"):  # fmt: skip
        response = client.get(url)
        seen.append(body(response))
    seen.append(client.post("/sync/now/", headers={"HX-Request": "true"}).content)
    for content in seen:
        assert SANDBOX_TOKEN.encode() not in content
    assert SANDBOX_TOKEN not in caplog.text


# --- headers ------------------------------------------------------------------------------------


def test_every_page_has_a_strict_content_security_policy(agent_client, world):
    for url in ("/", "/leads/", f"/leads/{world['lead'].uuid}/", "/accounts/login/", "/healthz"):
        response = agent_client.get(url)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"


def test_no_page_carries_inline_script(world):
    client = world["clients"]["superuser"]
    for url in ("/", "/leads/", f"/leads/{world['lead'].uuid}/", "/activity/", "/accounts/login/",
                "/accounts/password_change/", "/admin/", "/admin/leads/lead/"):  # fmt: skip
        html = client.get(url).content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, (url, tag)
        assert not re.search(r"\son[a-z]+\s*=", html), url  # no onclick= style handlers


def test_the_password_page_does_not_reload_itself_while_a_new_password_is_due(user):
    """Its navigation badges poll; redirecting them made the page reload every few seconds."""
    PasswordChangeRequired.objects.create(user=user)
    client = Client()
    client.post("/accounts/login/", {"username": "agent", "password": "agent-pass-123"})
    poll = client.get("/changes/counts/", headers={"HX-Request": "true"})
    assert poll.status_code == 204 and "HX-Redirect" not in poll
    assert client.get("/leads/")["Location"] == "/accounts/password_change/"
    assert client.get("/accounts/password_change/").status_code == 200


def test_demo_user_prints_a_superuser_and_an_agent_login(capsys, settings, tmp_path):
    settings.BASE_DIR = tmp_path
    call_command("demo_user")
    out = capsys.readouterr().out
    password = (tmp_path / "var" / "demo-password").read_text().strip()
    assert f"Demo login: demo / {password}" in out and f"Demo agent: agent / {password}" in out
    client = Client()
    client.post("/accounts/login/", {"username": "agent", "password": password})
    assert client.get("/leads/").status_code == 200
    assert client.post("/sync/now/").status_code == 403
