"""The delivery queue: one PUT in flight per lead (the delivery lease), backoff after an
outage, an edit sent while the person waits, durable records and relaxed bookkeeping."""

import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models.signals import post_save
from django.utils import timezone

from leads import delivery, services
from leads.models import Lead, LeadChange
from tests.factories import make_lead, pending_status_edit

pytestmark = pytest.mark.django_db(transaction=True)


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


def test_an_inline_edit_is_sent_at_once_and_gives_the_lease_back(
    agent_client, botpenguin, django_assert_max_num_queries
):
    """A status edit from the list (htmx) is recorded, sent and marked delivered while the
    person waits, in a fixed number of statements."""
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    agent_client.get("/leads/")
    # the session and user; the bots they see; the lead; record the edit (lock, insert,
    # update); the PUT's bookkeeping (its changes, mark them, record the status transition,
    # give the lease back, make its bot's edits waiting out a backoff due); the row; the undo
    # offered (the session); PostgreSQL's bookkeeping sets synchronous_commit; the insights'
    # days the edit and its delivered transition touch (read and marked, twice)
    with django_assert_max_num_queries(27):
        response = agent_client.post(
            f"/leads/{lead.uuid}/row-status/",
            {"status": "CLOSED", "version": lead.version},
            headers={"HX-Request": "true"},
        )
    assert response.status_code == 200 and botpenguin.sandbox.puts()[-1].body["status"] == "CLOSED"
    lead.refresh_from_db()
    assert lead.status == "CLOSED" and lead.version == 2
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
    state = {"pending_fields": lead.pending_fields, "change_state": lead.change_state}
    assert delivery.change_state_values(lead.pk) == state


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


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="synchronous_commit is PostgreSQL's")
def test_the_edit_commits_durably_and_only_delivery_bookkeeping_does_not_wait(botpenguin, user):
    """On PostgreSQL the delivered marks and the lease's release skip the WAL flush (losing
    them in a crash only means the PUT is sent again); the transaction that records the edit
    never does, nor does bookkeeping inside a caller's transaction."""
    recorded = []

    def note_durability(sender, instance, created, **kwargs):
        if created:
            recorded.append(synchronous_commit())

    post_save.connect(note_durability, sender=LeadChange, dispatch_uid="test-durability")
    try:
        lead = make_lead(1, sandbox=botpenguin.sandbox)
        assert services.lead_set_status(lead=lead, status="REVIEW", user=user).state == "delivered"
    finally:
        post_save.disconnect(dispatch_uid="test-durability", sender=LeadChange)
    assert recorded == ["on"]
    with delivery.bookkeeping():
        assert synchronous_commit() == "off"
    assert synchronous_commit() == "on"
    with transaction.atomic(), delivery.bookkeeping():
        assert synchronous_commit() == "on"


def test_once_botpenguin_accepts_an_edit_the_edits_backing_off_are_due_at_once(botpenguin, user):
    """After an outage each waiting edit has its own backoff, up to minutes; the first edit
    BotPenguin accepts again makes the others of its bot due now (not those it asked to wait
    for with Retry-After)."""
    box = botpenguin.sandbox
    waiting, asked_to_wait, fresh = (make_lead(n, sandbox=box) for n in (1, 2, 3))
    box.fail_next(1, status=503, method="PUT")
    services.lead_set_status(lead=waiting, status="REVIEW", user=user)
    box.fail_next(1, status=429, method="PUT", retry_after=300)
    services.lead_set_status(lead=asked_to_wait, status="REVIEW", user=user)
    later = timezone.now() + timedelta(seconds=2)
    assert LeadChange.objects.filter(state="pending", next_attempt_at__gt=later).count() == 2

    services.lead_set_status(lead=fresh, status="CLOSED", user=user)  # BotPenguin is back

    call_command("deliver_changes", "--due-only")
    assert waiting.changes.get().state == "delivered"
    assert box.get_chat(waiting.uuid)["status"] == "REVIEW"
    assert asked_to_wait.changes.get().state == "pending"


def test_a_delivery_and_a_sync_batch_writing_the_same_lead_do_not_deadlock(botpenguin, user):
    """Seen in the load test on PostgreSQL: a sync batch holds a lead's row and then marks the
    insights' days of its leads dirty; a delivery's bookkeeping marked the day of the status it
    recorded, then waited for the lead's row: a deadlock, and the person's edit answered 500.
    Every writer now takes the lead's row before the dirty days, so the delivery waits for the
    batch and goes on."""
    import threading

    from django.db import DatabaseError, connections

    from leads import rollup

    lead = pending_status_edit(botpenguin.sandbox, user, "REVIEW")
    owner = delivery.claim(lead.pk)  # as an edit does before its PUT
    batch_holds_the_lead = threading.Event()
    errors = []

    def sync_batch():
        try:
            with transaction.atomic():
                Lead.objects.filter(pk=lead.pk).update(city="Pune")
                batch_holds_the_lead.set()
                time.sleep(1.5)  # the delivery's bookkeeping reaches its writes meanwhile
                rollup.touch([lead.pk])
        except DatabaseError as e:  # a deadlock ends one of the two
            errors.append(e)
        finally:
            connections.close_all()

    batch = threading.Thread(target=sync_batch)
    batch.start()
    assert batch_holds_the_lead.wait(10)
    try:
        outcome = delivery.deliver_lead(lead.pk, force=True, owner=owner)
    finally:
        batch.join(30)
    assert errors == []
    assert outcome.state == "delivered"
    assert Lead.objects.get(pk=lead.pk).city == "Pune"
    assert LeadChange.objects.get(lead=lead).state == "delivered"
