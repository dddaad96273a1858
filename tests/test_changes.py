"""Edits are never lost: the change log, the delivery queue, retries, supersession, conflicts."""

import json
import random
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads import services
from leads.models import Heartbeat, Lead, LeadChange, SyncRun
from leads.services import delivery
from leads.sync.run import sync_leads
from tests.factories import SANDBOX_TOKEN, make_lead

pytestmark = pytest.mark.django_db(transaction=True)


def successful_puts(sandbox, uuid=None):
    return [p for p in sandbox.puts(uuid) if p.status == 200]


def test_fifty_edits_on_ten_leads_during_an_outage_all_arrive_in_order(staff_client, botpenguin):
    box = botpenguin.sandbox
    leads = [make_lead(n, sandbox=box) for n in range(10)]
    box.fail_puts = True
    rng = random.Random(4)
    statuses = ["OPEN", "INPROGRESS", "REVIEW", "ONHOLD", "DEPENDANCY", "CLOSED"]
    expected: dict[str, dict] = {lead.uuid: {} for lead in leads}
    for i in range(50):
        lead = leads[i % 10]
        kind = rng.choice(["status", "note", "tag", "contact", "inline"])
        if kind in ("status", "inline"):
            status = rng.choice(statuses)
            if kind == "status":
                response = staff_client.post(f"/leads/{lead.uuid}/edit/status/", {"status": status})
            else:
                response = staff_client.post(
                    f"/leads/{lead.uuid}/row-status/", {"status": status}, HTTP_HX_REQUEST="true"
                )
        elif kind == "note":
            response = staff_client.post(
                f"/leads/{lead.uuid}/edit/note/", {"title": f"Note {i}", "description": "d"}
            )
        elif kind == "tag":
            response = staff_client.post(f"/leads/{lead.uuid}/edit/tags/", {"tag": f"t{i}"})
        else:
            current = Lead.objects.get(pk=lead.pk)
            response = staff_client.post(
                f"/leads/{lead.uuid}/edit/contact/",
                {
                    "name": f"Renamed {i}", "email": current.email, "dial_code": current.dial_code,
                    "phone": current.phone, "picture": "", "agent_id": f"agent-{i}",
                    "attr-TOTAL_FORMS": "0", "attr-INITIAL_FORMS": "0",
                },
            )  # fmt: skip
        assert response.status_code in (200, 302), (kind, response.status_code)
        assert b"Traceback" not in response.content
        # every page keeps answering during the outage
        assert staff_client.get(f"/leads/{lead.uuid}/").status_code == 200
    assert staff_client.get("/leads/").status_code == 200
    assert staff_client.get("/activity/").status_code == 200
    for lead in leads:
        current = Lead.objects.get(pk=lead.pk)
        for name in current.pending_fields:
            expected[lead.uuid][name] = getattr(current, name)
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
        chat = box.get_chat(lead.uuid)
        details = chat["profile"]["userDetails"]
        values = expected[lead.uuid]
        if "status" in values:
            assert chat["status"] == values["status"]
        if "tags" in values:
            assert details["tags"] == values["tags"]
        if "notes" in values:
            assert [n["title"] for n in chat["profile"]["notes"]] == [
                n["title"] for n in values["notes"]
            ]
        if "name" in values:
            assert details["name"] == values["name"]
        if "agent_id" in values:
            assert chat["_agentAssigned"] == values["agent_id"]
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


def test_transient_failure_backs_off_with_jitter_and_honours_retry_after(botpenguin, user):
    box = botpenguin.sandbox
    lead = make_lead(1, sandbox=box)
    box.fail_next(1, status=429, method="PUT", retry_after=120)
    before = timezone.now()
    change = services.lead_set_status(lead=lead, status="REVIEW", user=user)
    assert change.state == "pending" and change.last_http_status == 429
    assert change.next_attempt_at >= before + timedelta(seconds=119)
    # Not due yet: a due-only sweep leaves it; deliver_changes (forced) sends it.
    call_command("deliver_changes", "--due-only")
    assert LeadChange.objects.get().state == "pending"
    call_command("deliver_changes")
    assert LeadChange.objects.get().state == "delivered"
    delays = [delivery.backoff_seconds(n) for n in range(1, 8)]
    assert all(0 < d <= delivery.BACKOFF_MAX for d in delays)
    assert delays[-1] > delays[0]


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


def test_one_put_in_flight_per_lead(botpenguin, user):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    botpenguin.sandbox.fail_puts = True
    services.lead_set_status(lead=lead, status="REVIEW", user=user)
    botpenguin.sandbox.fail_puts = False
    owner = delivery.claim(lead.pk)
    assert owner and delivery.claim(lead.pk) is None
    assert delivery.deliver_lead(lead.pk, force=True).state == "busy"
    delivery.release(lead.pk, owner)
    assert delivery.deliver_lead(lead.pk, force=True).state == "delivered"


def test_an_expired_lease_is_taken_over(botpenguin, user):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    botpenguin.sandbox.fail_puts = True
    services.lead_set_status(lead=lead, status="REVIEW", user=user)
    botpenguin.sandbox.fail_puts = False
    # A worker died holding the lease a while ago.
    Lead.objects.filter(pk=lead.pk).update(
        delivery_lease_owner="dead-worker",
        delivery_lease_until=timezone.now() - timedelta(seconds=1),
    )
    assert delivery.deliver_lead(lead.pk, force=True).state == "delivered"


def test_status_conflict_on_the_detail_page(agent_client, botpenguin):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    seen = lead.version
    Lead.objects.filter(pk=lead.pk).update(status="REVIEW", version=seen + 1)  # another agent
    response = agent_client.post(
        f"/leads/{lead.uuid}/edit/status/", {"status": "CLOSED", "version": str(seen)}
    )
    assert response.status_code == 409
    html = response.content.decode()
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
    SyncRun.objects.create(state="failed", error="BotPenguin is unavailable: HTTP 503",
                           finished_at=timezone.now())  # fmt: skip
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


def _transactions(queries) -> list[list[str]]:
    """The statements of each transaction (BEGIN … COMMIT) among captured queries."""
    transactions, current = [], None
    for sql in (q["sql"] for q in queries):
        if sql in ("BEGIN", "BEGIN IMMEDIATE"):
            current = []
        elif sql == "COMMIT":
            transactions.append(current)
            current = None
        elif current is not None:
            current.append(sql)
    return transactions


def _inline_edit(agent_client, botpenguin) -> tuple[Lead, list[list[str]]]:
    """A status edit from the list (htmx), delivered at once; the lead and the statements of
    each transaction the request ran."""
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    with CaptureQueriesContext(connection) as ctx:
        response = agent_client.post(
            f"/leads/{lead.uuid}/row-status/",
            {"status": "CLOSED", "version": lead.version},
            headers={"HX-Request": "true"},
        )
    assert response.status_code == 200 and botpenguin.sandbox.puts()[-1].body["status"] == "CLOSED"
    return lead, _transactions(ctx.captured_queries)


def test_an_inline_edit_takes_two_transactions_and_gives_the_lease_back(agent_client, botpenguin):
    """The edit and the delivery lease commit together, the lease and the pending badge in the
    edit's own UPDATE; the delivered marks and the lease's release commit together after the
    PUT, the release in the UPDATE that clears the badge."""
    lead, transactions = _inline_edit(agent_client, botpenguin)
    recording, delivered = transactions
    statements = [q for q in recording if q not in ("BEGIN", "COMMIT")]
    assert [q.split()[0] for q in statements] == ["SELECT", "INSERT", "UPDATE"], statements
    assert 'INSERT INTO "leads_leadchange"' in statements[1]
    update = statements[2]
    assert all(f'"{name}" = ' in update for name in
               ("status", "change_state", "pending_fields", "delivery_lease_owner"))  # fmt: skip
    assert any("'delivered'" in q for q in delivered)
    released = [q for q in delivered if q.startswith('UPDATE "leads_lead" ')]
    assert len(released) == 1 and '"delivery_lease_owner" = CASE' in released[0]
    lead.refresh_from_db()
    assert lead.delivery_lease_owner == "" and lead.delivery_lease_until is None
    assert lead.change_state == "" and lead.pending_fields == []
    assert LeadChange.objects.get(lead=lead).state == "delivered"


def test_an_edit_keeps_the_badge_of_the_leads_other_open_changes(botpenguin, user):
    """The badge an edit writes is the locked row's own with its change added: a lead with a
    refused (failed) change stays failed, and its fields stay listed as pending."""
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    botpenguin.sandbox.fail_puts = True
    services.lead_update_contact(lead=lead, user=None, name="Refused later")
    LeadChange.objects.filter(lead=lead).update(state=LeadChange.State.FAILED)
    delivery.refresh_change_state(lead.pk)
    change = services.lead_set_status(lead=lead, status="REVIEW", user=user)
    assert change.state == "pending"  # a failed change holds the lead's deliveries
    lead.refresh_from_db()
    assert lead.change_state == "failed" and lead.pending_fields == ["name", "status"]
    assert delivery.change_state_values(lead.pk) == {
        "pending_fields": lead.pending_fields, "change_state": lead.change_state,
    }  # fmt: skip


def test_an_edit_while_a_worker_delivers_the_lead_is_queued_for_the_worker(botpenguin, user):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    owner = delivery.claim(lead.pk)  # a worker is sending this lead's changes
    change = services.lead_set_status(lead=lead, status="REVIEW", user=user)
    assert change.state == "pending" and botpenguin.sandbox.puts() == []
    lead.refresh_from_db()
    assert lead.delivery_lease_owner == owner and lead.change_state == "pending"
    delivery.release(lead.pk, owner)
    assert delivery.deliver_lead(lead.pk, force=True).state == "delivered"
    assert botpenguin.sandbox.puts()[-1].body["status"] == "REVIEW"


def test_a_failed_delivery_gives_the_lease_back(botpenguin, user):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    botpenguin.sandbox.fail_puts = True
    change = services.lead_set_status(lead=lead, status="REVIEW", user=user)
    assert change.state == "pending"
    lead.refresh_from_db()
    assert lead.delivery_lease_owner == "" and lead.delivery_lease_until is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="synchronous_commit is PostgreSQL's")
def test_the_edit_commits_durably_and_only_delivery_bookkeeping_does_not_wait(
    agent_client, botpenguin
):
    """On PostgreSQL the delivered marks and the lease's release skip the WAL flush (losing
    them in a crash only means the PUT is sent again); the transaction that records the edit
    (and takes the lease) never does."""
    lead, transactions = _inline_edit(agent_client, botpenguin)
    recording = [t for t in transactions if any('INSERT INTO "leads_leadchange"' in q for q in t)]
    assert len(recording) == 1
    assert not any("synchronous_commit" in q for q in recording[0])
    relaxed = [t for t in transactions if t and "synchronous_commit TO OFF" in t[0]]
    # mark the change delivered and give the lease back, in one transaction
    assert len(relaxed) == 1 and len(transactions) == 2, transactions
    assert LeadChange.objects.get(lead=lead).state == "delivered"
