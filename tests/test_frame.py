"""Login, the frame every page shares, the home page and Sync now."""

import re

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from leads.models import InsightsDay, InsightsDirtyDay, Lead, SyncRun
from leads.sync.run import take_sync_lease
from tests.factories import SANDBOX_TOKEN, env_bot, fill

pytestmark = pytest.mark.django_db(transaction=True)
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def test_login_page_renders_and_rejects_a_wrong_password(client, user):
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "agent", "password": "wrong"})
    html = response.content.decode()
    assert "Please enter a correct username and password" in html
    assert 'value="agent"' in html


def test_login_then_logout(client, user):
    response = client.post(
        "/accounts/login/", {"username": "agent", "password": "agent-pass-123"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/leads/"
    assert "Asha" in response.content.decode()
    response = client.post("/accounts/logout/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/"
    assert "Sign in" in response.content.decode()
    assert client.get("/leads/").status_code == 302


def test_password_change(client, user):
    client.force_login(user)
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": "agent-pass-123",
            "new_password1": "N3w-pass-phrase!",
            "new_password2": "N3w-pass-phrase!",
        },
        follow=True,
    )
    assert "Your password was changed." in response.content.decode()


def test_frame_navigation_for_agents_and_staff(client, user, admin_user):
    client.force_login(user)
    html = client.get("/").content.decode()
    assert 'href="/leads/"' in html and 'href="/leads/?type=non-lead"' in html
    assert 'href="/admin/"' not in html and 'id="sync-now"' not in html
    assert "Never synced" in html
    client.force_login(admin_user)
    html = client.get("/").content.decode()
    assert 'href="/admin/"' in html and 'id="sync-now"' in html
    # Static assets come from static/vendor; no inline script anywhere.
    assert "/static/vendor/htmx/htmx.min.js" in html
    assert "/static/vendor/bootstrap/bootstrap.min.css" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert " onclick=" not in html


def test_vendored_assets_are_served(client):
    for path in ("vendor/htmx/htmx.min.js", "vendor/bootstrap/bootstrap.bundle.min.js"):
        response = client.get(f"/static/{path}")
        assert response.status_code == 200
        assert b"".join(response.streaming_content)[:1]


def test_home_shows_the_mirror_counts(client, user, botpenguin):
    fill(botpenguin, 7)
    fill(botpenguin, 3, is_lead=False, start=100)
    call_command("sync_leads")
    client.force_login(user)
    html = client.get("/").content.decode()
    assert re.search(r'id="count-leads">7<', html) and re.search(r'id="count-other">3<', html)
    assert "Last successful sync" in html and "10 created" in html


def test_sync_now_is_for_staff_only(client, user, botpenguin):
    client.force_login(user)
    assert client.post("/sync/now/").status_code == 403
    assert SyncRun.objects.count() == 0


def test_sync_now_runs_the_sync_in_the_background(client, admin_user, botpenguin, settings):
    settings.TASKS = IMMEDIATE
    fill(botpenguin, 12)
    client.force_login(admin_user)
    response = client.post("/sync/now/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    run = SyncRun.objects.get()
    assert run.state == "succeeded" and Lead.objects.count() == 12
    status = client.get("/sync/status/").content.decode()
    assert "Last sync" in status and "every 1s" not in status


def test_the_frames_last_sync_is_cached_but_a_saved_run_shows_at_once(client, user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leads.selectors.overview import forget_frame_last_sync

    client.force_login(user)
    client.get("/leads/")  # every cache warm
    with CaptureQueriesContext(connection) as warm:
        client.get("/leads/")
    forget_frame_last_sync()
    with CaptureQueriesContext(connection) as cold:
        assert "Never synced" in client.get("/leads/").content.decode()
    # one query for the last sync, although the list renders templates inside the frame
    assert len(cold.captured_queries) == len(warm.captured_queries) + 1
    # A sync that starts (or ends) saves its run: the frame shows it on the next page.
    run = SyncRun.objects.create(state="running", progress={"pages": 2, "chats": 40})
    assert "pages 2, chats 40" in client.get("/leads/").content.decode()
    # Progress written by update() (the sync's batches) is not a save: the frame keeps its copy
    # for at most FRAME_SYNC_SECONDS, while the status it renders polls the uncached one.
    SyncRun.objects.filter(pk=run.pk).update(progress={"pages": 9, "chats": 180})
    assert "pages 2, chats 40" in client.get("/leads/").content.decode()
    assert "pages 9, chats 180" in client.get("/sync/status/").content.decode()


def test_sync_status_polls_while_a_sync_runs(client, admin_user):
    run = SyncRun.objects.create(state="running", progress={"pages": 3, "chats": 60})
    take_sync_lease(bot_id=env_bot().pk, holder="someone", run=run)
    client.force_login(admin_user)
    html = client.get("/sync/status/").content.decode()
    assert 'hx-trigger="every 1s"' in html and "pages 3, chats 60" in html
    # A second click, while that sync holds the lease, says so and starts nothing.
    response = client.post("/sync/now/", HTTP_HX_REQUEST="true")
    assert "a sync is already running" in response.content.decode()
    assert SyncRun.objects.count() == 1


def test_a_missing_token_is_named_on_the_page(client, admin_user, botpenguin, settings):
    settings.TASKS = IMMEDIATE
    settings.BOTPENGUIN_API_TOKEN = ""
    client.force_login(admin_user)
    client.post("/sync/now/", HTTP_HX_REQUEST="true")
    run = SyncRun.objects.get()
    assert run.state == "failed" and "BOTPENGUIN_API_TOKEN is not set" in run.error
    html = client.get("/").content.decode()
    assert "BOTPENGUIN_API_TOKEN is not set" in html


def test_sync_now_with_the_database_queue_and_a_worker(client, admin_user, botpenguin):
    fill(botpenguin, 9)
    client.force_login(admin_user)
    client.post("/sync/now/", HTTP_HX_REQUEST="true")
    assert DBTaskResult.objects.count() == 1
    assert SyncRun.objects.get().state == "running"
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    run = SyncRun.objects.get()
    assert run.state == "succeeded" and Lead.objects.count() == 9
    # The sync, and the insights' refresh it queued, both done by the worker.
    done = dict(DBTaskResult.objects.values_list("task_path", "status"))
    assert done == {
        "leads.tasks.run_sync": "SUCCESSFUL",
        "leads.tasks.refresh_insights": "SUCCESSFUL",
    }
    assert not InsightsDirtyDay.objects.exists() and InsightsDay.objects.exists()


def test_the_token_never_reaches_a_page(client, admin_user, botpenguin):
    fill(botpenguin, 3)
    call_command("sync_leads")
    client.force_login(admin_user)
    lead = Lead.objects.first()
    for url in (
        "/",
        "/leads/",
        f"/leads/{lead.uuid}/",
        "/leads/?_export=csv",
        "/admin/leads/lead/",
        f"/admin/leads/lead/{lead.pk}/change/",
        "/sync/status/",
    ):
        response = client.get(url)
        body = response.content if not response.streaming else b"".join(response.streaming_content)
        assert SANDBOX_TOKEN.encode() not in body, url


@pytest.mark.parametrize(
    ("url", "active"),
    [("/leads/", "Leads"), ("/leads/?type=non-lead", "Other chats"), ("/", None)],
)
def test_the_navigation_marks_the_list_shown(client, user, url, active):
    client.force_login(user)
    html = client.get(url).content.decode()
    marked = re.findall(r'<a class="nav-link active"[^>]*>([^<]+)</a>', html)
    assert marked == ([active] if active else [])
