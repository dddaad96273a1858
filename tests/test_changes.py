"""Edits are never lost: the change log, an outage, retries and discards of refused edits,
supersession, conflicts, the activity page and the health report."""

import json
import random
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from leads import services
from leads.models import Heartbeat, InsightsDay, InsightsDirtyDay, Lead, LeadChange, SyncRun
from leads.sync.run import sync_leads
from tests.factories import SANDBOX_TOKEN, make_lead

pytestmark = pytest.mark.django_db(transaction=True)


def successful_puts(sandbox, uuid=None):
    return [p for p in sandbox.puts(uuid) if p.status == 200]


STATUSES = ["OPEN", "INPROGRESS", "REVIEW", "ONHOLD", "DEPENDANCY", "CLOSED"]


def random_edit(client, lead: Lead, i: int, rng: random.Random):
    """One of the five ways a person edits a lead, chosen by `rng`; the response."""
    kind = rng.choice(["status", "note", "tag", "contact", "inline"])
    url = f"/leads/{lead.uuid}"
    if kind == "status":
        return client.post(f"{url}/edit/status/", {"status": rng.choice(STATUSES)})
    if kind == "inline":
        status = rng.choice(STATUSES)
        return client.post(f"{url}/row-status/", {"status": status}, HTTP_HX_REQUEST="true")
    if kind == "note":
        return client.post(f"{url}/edit/note/", {"title": f"Note {i}", "description": "d"})
    if kind == "tag":
        return client.post(f"{url}/edit/tags/", {"tag": f"t{i}"})
    current = Lead.objects.get(pk=lead.pk)
    contact = {
        "name": f"Renamed {i}",
        "email": current.email,
        "dial_code": current.dial_code,
        "phone": current.phone,
        "picture": "",
        "agent_id": f"agent-{i}",
        "attr-TOTAL_FORMS": "0",
        "attr-INITIAL_FORMS": "0",
    }
    return client.post(f"{url}/edit/contact/", contact)


def chat_values(chat: dict) -> dict:
    """The fields these edits change, as BotPenguin holds them (notes by title)."""
    details = chat["profile"]["userDetails"]
    return {
        "status": chat["status"],
        "tags": details["tags"],
        "notes": [n["title"] for n in chat["profile"]["notes"]],
        "name": details["name"],
        "agent_id": chat["_agentAssigned"],
    }


def pending_values(lead: Lead) -> dict:
    """The values the mirror shows as pending, in chat_values()'s terms."""
    values = {name: getattr(lead, name) for name in lead.pending_fields}
    if "notes" in values:
        values["notes"] = [n["title"] for n in values["notes"]]
    return values


def test_fifty_edits_on_ten_leads_during_an_outage_all_arrive_in_order(staff_client, botpenguin):
    box = botpenguin.sandbox
    leads = [make_lead(n, sandbox=box) for n in range(10)]
    box.fail_puts = True
    rng = random.Random(4)
    for i in range(50):
        lead = leads[i % 10]
        response = random_edit(staff_client, lead, i, rng)
        assert response.status_code in (200, 302), response.status_code
        assert b"Traceback" not in response.content
        # every page keeps answering during the outage
        assert staff_client.get(f"/leads/{lead.uuid}/").status_code == 200
    assert staff_client.get("/leads/").status_code == 200
    assert staff_client.get("/activity/").status_code == 200
    expected = {lead.uuid: pending_values(lead) for lead in Lead.objects.all()}
    created = LeadChange.objects.count()
    assert created >= 45  # a few edits may be no-ops (the status was already so)
    assert not LeadChange.objects.exclude(state="pending").exists()  # nothing lost, nothing sent
    assert successful_puts(box) == []

    box.fail_puts = False
    box.clear_requests()
    call_command("deliver_changes")

    assert not LeadChange.objects.filter(state__in=["pending", "failed"]).exists()
    assert LeadChange.objects.filter(state__in=["delivered", "superseded"]).count() == created
    for lead in leads:
        held = chat_values(box.get_chat(lead.uuid))
        assert {name: held[name] for name in expected[lead.uuid] if name in held} == {
            name: value for name, value in expected[lead.uuid].items() if name in held
        }
        # One PUT per lead carried the latest value of every field.
        assert len(successful_puts(box, lead.uuid)) <= 1
        current = Lead.objects.get(pk=lead.pk)
        assert current.change_state == "" and current.pending_fields == []
    # The pending badges are gone from the list.
    assert b"change-badge" not in staff_client.get("/leads/").content


def test_a_newer_change_supersedes_an_undelivered_older_one(botpenguin, user):
    box = botpenguin.sandbox
    lead = make_lead(1, sandbox=box)
    box.fail_puts = True
    first = services.lead_set_status(lead=lead, status="REVIEW", user=user)
    second = services.lead_set_status(lead=lead, status="CLOSED", user=user)
    note = services.lead_add_note(lead=lead, title="T", description="D", user=user)
    assert [c.state for c in (first, second, note)] == ["pending"] * 3
    box.fail_puts = False
    box.clear_requests()

    call_command("deliver_changes")

    (put,) = box.puts()
    assert put.body["status"] == "CLOSED"
    assert put.body["notes"] == [{"title": "T", "description": "D"}]
    states = dict(LeadChange.objects.values_list("id", "state"))
    assert states == {first.pk: "superseded", second.pk: "delivered", note.pk: "delivered"}


def test_a_401_in_the_background_fails_the_change_until_retried(staff_client, botpenguin, user):
    box = botpenguin.sandbox
    lead = make_lead(1, sandbox=box)
    box.fail_puts = True
    services.lead_set_status(lead=lead, status="ONHOLD", user=user)
    box.fail_puts = False
    box.token = "rotated-at-botpenguin"

    call_command("deliver_changes")

    change = LeadChange.objects.get()
    assert change.state == "failed" and change.last_error == "BotPenguin rejected the API token."
    assert change.last_http_status == 401
    lead.refresh_from_db()
    assert lead.change_state == "failed" and lead.status == "ONHOLD"
    page = staff_client.get(f"/leads/{lead.uuid}/").content.decode()
    assert "BotPenguin rejected the API token." in page and ">Retry<" in page
    assert "1 failed" in staff_client.get("/changes/counts/").content.decode()
    # A failed change holds back later ones for the same lead (order is kept).
    services.lead_add_note(lead=lead, title="later", description="", user=user)
    assert LeadChange.objects.filter(state="pending").count() == 1

    box.token = SANDBOX_TOKEN  # the token is fixed
    response = staff_client.post(f"/changes/{change.pk}/retry/", follow=True)
    assert "Sent to BotPenguin." in response.content.decode()
    assert set(LeadChange.objects.values_list("state", flat=True)) == {"delivered"}
    assert box.get_chat(lead.uuid)["status"] == "ONHOLD"
    assert Lead.objects.get(pk=lead.pk).change_state == ""


def test_discard_returns_the_mirror_to_botpenguins_value(staff_client, botpenguin, user):
    box = botpenguin.sandbox
    make_lead(1, sandbox=box, tags=["a"])
    sync_leads()  # the mirror's raw record is BotPenguin's
    lead = Lead.objects.get()
    box.fail_puts = True
    services.lead_add_tag(lead=lead, tag="b", user=user)
    box.fail_puts = False
    box.fail_next(1, status=400, method="PUT")
    call_command("deliver_changes")
    change = LeadChange.objects.get()
    assert change.state == "failed"
    assert Lead.objects.get(pk=lead.pk).tags == ["a", "b"]

    staff_client.post(f"/changes/{change.pk}/discard/")

    lead.refresh_from_db()
    assert lead.tags == ["a"] and lead.change_state == "" and lead.pending_fields == []
    assert list(lead.tag_rows.values_list("key", flat=True)) == ["a"]
    assert LeadChange.objects.get().state == "discarded"


def test_agents_cannot_retry_or_discard(agent_client, botpenguin, user):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    change = LeadChange.objects.create(
        lead=lead, action="status", state="failed", after={"status": "OPEN"}
    )
    assert agent_client.post(f"/changes/{change.pk}/retry/").status_code == 403
    assert agent_client.post(f"/changes/{change.pk}/discard/").status_code == 403
    assert LeadChange.objects.get().state == "failed"


def test_a_sync_during_an_outage_does_not_revert_pending_fields(botpenguin, user):
    box = botpenguin.sandbox
    make_lead(1, sandbox=box, tags=["a"])
    sync_leads()
    lead = Lead.objects.get()
    box.fail_puts = True
    services.lead_set_status(lead=lead, status="CLOSED", user=user)
    # Meanwhile BotPenguin changed the lead's name (and so its updatedAt).
    chat = box.get_chat(lead.uuid)
    chat["profile"]["userDetails"]["name"] = "Renamed at BotPenguin"
    chat["updatedAt"] = (timezone.now()).isoformat().replace("+00:00", "Z")
    box.add_chat(chat, is_lead=True)

    sync_leads(full=True)

    lead.refresh_from_db()
    assert lead.name == "Renamed at BotPenguin"  # not pending: brought in line
    assert lead.status == "CLOSED" and lead.pending_fields == ["status"]  # pending: kept

    box.fail_puts = False
    call_command("deliver_changes")
    sync_leads()
    lead.refresh_from_db()
    assert lead.status == "CLOSED" and lead.pending_fields == [] and lead.change_state == ""
    assert lead.raw["status"] == "CLOSED"  # the mirror is in line with BotPenguin again


def test_status_conflict_on_the_detail_page(agent_client, botpenguin):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    seen = lead.version
    Lead.objects.filter(pk=lead.pk).update(status="REVIEW", version=seen + 1)  # another agent
    response = agent_client.post(
        f"/leads/{lead.uuid}/edit/status/", {"status": "CLOSED", "version": str(seen)}
    )
    # Post/Redirect/Get: the lead's page shows the conflict (once; a reload never re-posts).
    assert response.status_code == 302
    html = agent_client.get(response["Location"]).content.decode()
    assert 'id="conflict"' in html
    assert '<td class="conflict-current">Review</td><td class="conflict-yours">Closed</td>' in html
    assert f'name="version" value="{seen + 1}"' in html
    assert botpenguin.sandbox.puts() == []
    # Keep mine: the form now carries the latest version.
    response = agent_client.post(
        f"/leads/{lead.uuid}/edit/status/", {"status": "CLOSED", "version": str(seen + 1)}
    )
    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).status == "CLOSED"


def test_activity_page_filters(staff_client, botpenguin, user, admin_user):
    a = make_lead(1, sandbox=botpenguin.sandbox, name="Meera")
    b = make_lead(2, sandbox=botpenguin.sandbox, name="Arjun")
    services.lead_set_status(lead=a, status="CLOSED", user=user)
    botpenguin.sandbox.fail_puts = True
    services.lead_set_status(lead=b, status="REVIEW", user=admin_user)
    html = staff_client.get("/activity/").content.decode()
    assert "Meera" in html and "Arjun" in html and "1 pending, 0 failed" in html
    html = staff_client.get("/activity/?state=pending").content.decode()
    assert "Arjun" in html and "Meera" not in html
    html = staff_client.get(f"/activity/?user={user.pk}").content.decode()
    assert "Meera" in html and "Arjun" not in html
    html = staff_client.get("/activity/?lead=meer").content.decode()
    assert "Meera" in html and "Arjun" not in html
    today = timezone.localdate().isoformat()
    assert "Meera" in staff_client.get(f"/activity/?after={today}").content.decode()


def test_healthz_tells_the_truth(client, botpenguin, user):
    response = client.get("/healthz")  # no login: for load balancers
    assert response.status_code == 200
    report = response.json()
    assert report["database"] == "ok" and report["pending_changes"] == 0
    assert report["last_sync"]["state"] is None and report["worker_heartbeat_seconds"] is None

    lead = make_lead(1, sandbox=botpenguin.sandbox)
    botpenguin.sandbox.fail_puts = True
    services.lead_set_status(lead=lead, status="CLOSED", user=user)
    SyncRun.objects.create(
        state="failed", error="BotPenguin is unavailable: HTTP 503", finished_at=timezone.now()
    )
    Heartbeat.objects.create(name="worker", at=timezone.now() - timedelta(seconds=30))
    report = client.get("/healthz").json()
    assert report["pending_changes"] == 1 and report["failed_changes"] == 0
    assert report["oldest_pending_seconds"] >= 0
    assert report["last_sync"]["state"] == "failed"
    assert 29 <= report["worker_heartbeat_seconds"] < 60
    assert SANDBOX_TOKEN not in json.dumps(report)


def test_scheduler_queues_sync_delivery_and_heartbeat(botpenguin, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    make_lead(1, sandbox=botpenguin.sandbox)
    call_command("run_scheduler", "--once")
    assert Heartbeat.objects.filter(name="worker").exists()
    assert SyncRun.objects.get().state == "succeeded"
    # The insights' days the sync marked are recomputed (after the sync, and by the sweep).
    assert InsightsDay.objects.exists() and not InsightsDirtyDay.objects.exists()
