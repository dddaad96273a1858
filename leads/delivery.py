"""Delivering recorded edits (LeadChange rows) to BotPenguin, so that no edit is ever lost.

* One PUT in flight per lead, across any number of workers and machines: a worker first takes the
  lead's delivery lease with one atomic UPDATE (works alike on SQLite and PostgreSQL, and holds no
  transaction open across the HTTP call). A worker killed mid-delivery leaves the change pending;
  its lease expires and another worker delivers it again (PUT is idempotent).
* Order: a lead's pending changes are sent oldest first, merged into one PUT that carries the
  latest value of every field; an older change whose fields a newer one all overwrote is marked
  superseded, the others delivered. A lead with a failed change waits until a person retries or
  discards it, so nothing is delivered out of order.
* Transient failures (timeouts, connection errors, 5xx, 429) keep the changes pending and schedule
  the next attempt with exponential backoff and jitter, honouring Retry-After. Permanent failures
  (400, 401/403) mark them failed with the API's message.
"""

from __future__ import annotations

import logging
import random
import uuid as uuidlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.utils import timezone

from leads import rollup
from leads.botpenguin.client import BotPenguinClient
from leads.botpenguin.errors import AuthRejected, BotPenguinError
from leads.botpenguin.records import build_put_body
from leads.bots.config import client_for, put_ids
from leads.models import Lead, LeadChange, StatusChange

logger = logging.getLogger(__name__)

BACKOFF_BASE = 5.0  # seconds before the 2nd attempt
BACKOFF_MAX = 15 * 60.0


@dataclass
class Outcome:
    """What one delivery attempt for a lead did."""

    lead_id: int
    # "delivered", "pending" (will retry), "failed", "busy" (leased), "idle", "inactive" (its
    # bot is switched off: nothing sent, the changes wait)
    state: str
    message: str = ""
    change_ids: tuple[int, ...] = ()
    woken: int = 0  # other leads' changes made due now (see wake_waiting)


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter; never sooner than the API's Retry-After."""
    ceiling = min(BACKOFF_MAX, BACKOFF_BASE * (2 ** max(0, attempts - 1)))
    delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311  (retry jitter, not a secret)
    if retry_after is not None:
        delay = max(delay, min(retry_after, BACKOFF_MAX))
    return delay


@contextmanager
def bookkeeping():
    """A transaction for delivery bookkeeping (leases, delivered / failed / retry marks) whose
    commit need not wait for the disk on PostgreSQL (synchronous_commit off: an edit's delivery
    waits for one WAL flush, its own record's). Safe to lose in a crash, which is the only way it can be
    lost (the WAL writer flushes it within a fraction of a second, and any later durable commit
    flushes it first): the change is then still pending and is sent again, and the PUT is
    idempotent. The edit itself is always recorded with a durable commit. Inside an outer
    transaction (whose commit must stay durable) this is a plain savepoint."""
    relax = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if relax:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def lease_seconds() -> float:
    return float(getattr(settings, "DELIVERY_LEASE_SECONDS", 60))


def claim(lead_id: int) -> str | None:
    """Take the lead's delivery lease; returns the owner token, or None if someone holds it."""
    with bookkeeping():
        return take_lease(lead_id)


def free_lease(lead: Lead) -> tuple[str, dict] | None:
    """For a lead row read under its lock (an edit's SELECT … FOR UPDATE): the owner token and
    the field values that take the delivery lease in the caller's own UPDATE, or None if someone
    holds it. The same rule as take_lease(), without a statement of its own: the lock keeps what
    was read true until the caller's UPDATE."""
    now = timezone.now()
    if lead.delivery_lease_until is not None and lead.delivery_lease_until >= now:
        return None
    owner = uuidlib.uuid4().hex
    until = now + timedelta(seconds=lease_seconds())
    return owner, {"delivery_lease_until": until, "delivery_lease_owner": owner}


def take_lease(lead_id: int) -> str | None:
    """claim() within the caller's transaction."""
    owner = uuidlib.uuid4().hex
    now = timezone.now()
    taken = Lead.objects.filter(
        Q(delivery_lease_until__isnull=True) | Q(delivery_lease_until__lt=now), pk=lead_id
    ).update(
        delivery_lease_until=now + timedelta(seconds=lease_seconds()),
        delivery_lease_owner=owner,
    )
    return owner if taken else None


def release(lead_id: int, owner: str) -> None:
    with bookkeeping():
        _drop_lease(lead_id, owner)


def _drop_lease(lead_id: int, owner: str) -> None:
    Lead.objects.filter(pk=lead_id, delivery_lease_owner=owner).update(
        delivery_lease_until=None, delivery_lease_owner=""
    )


def change_state_values(lead_id: int) -> dict:
    """The lead's pending fields and badge, from its open changes (one query; a second only
    for a lead with an edit BotPenguin did not keep, whose mark lasts until an edit is
    delivered after it)."""
    rows = list(
        LeadChange.objects.filter(
            lead_id=lead_id, state__in=(*LeadChange.OPEN_STATES, LeadChange.State.NOT_KEPT)
        ).values_list("state", "after", "verified_at")
    )
    open_changes = [(state, after) for state, after, _at in rows if state in LeadChange.OPEN_STATES]
    fields = sorted({name for _state, after in open_changes for name in after})
    states = {state for state, _after in open_changes}
    badge = "failed" if LeadChange.State.FAILED in states else ("pending" if states else "")
    not_kept = [at for state, _after, at in rows if state == LeadChange.State.NOT_KEPT and at]
    if not badge and not_kept and not _delivered_since(lead_id, max(not_kept)):
        badge = LeadChange.State.NOT_KEPT
    return {"pending_fields": fields, "change_state": badge}


def _delivered_since(lead_id: int, moment: datetime) -> bool:
    return LeadChange.objects.filter(
        lead_id=lead_id,
        state__in=(LeadChange.State.DELIVERED, LeadChange.State.SUPERSEDED),
        delivered_at__gt=moment,
    ).exists()


def refresh_change_state(
    lead_id: int, *, release: str | None = None, delivered: bool = False
) -> None:
    """Recompute the lead's pending fields and badge from its open changes (one query + update);
    with `release`, that owner's delivery lease is given back in the same UPDATE. `delivered`:
    an edit was just delivered, so the stored hash is reset and the next sync that lists the
    chat rewrites the mirror with BotPenguin's values and checks the edit was kept."""
    values = change_state_values(lead_id)
    if delivered:
        values["raw_hash"] = ""
    if release is not None:
        mine = Q(delivery_lease_owner=release)
        values.update(
            delivery_lease_until=Case(
                When(mine, then=Value(None, output_field=DateTimeField())),
                default=F("delivery_lease_until"),
            ),
            delivery_lease_owner=Case(
                When(mine, then=Value("")), default=F("delivery_lease_owner")
            ),
        )
    Lead.objects.filter(pk=lead_id).update(**values)


def deliver_lead(
    lead_id: int,
    *,
    client: BotPenguinClient | None = None,
    now: datetime | None = None,
    force: bool = False,
    owner: str | None = None,
) -> Outcome:
    """Try to deliver a lead's due pending changes in one PUT. Safe to call from anywhere.
    `owner`: the lease, when the caller already took it (take_lease); released here."""
    owner = owner or claim(lead_id)
    if owner is None:
        return Outcome(lead_id, "busy")
    lease = _Lease(lead_id, owner)
    try:
        return _deliver_claimed(
            lead_id, client=client, now=now or timezone.now(), force=force, lease=lease
        )
    finally:
        if not lease.released:
            release(lead_id, owner)


@dataclass
class _Lease:
    lead_id: int
    owner: str
    released: bool = False

    def drop(self, *, delivered: bool = False) -> None:
        """Refresh the lead's pending fields and badge and give the lease back, in one UPDATE
        inside the caller's bookkeeping transaction (one commit less); should that transaction
        roll back, deliver_lead() still releases it."""
        refresh_change_state(self.lead_id, release=self.owner, delivered=delivered)
        transaction.on_commit(lambda: setattr(self, "released", True))


def _deliver_claimed(
    lead_id: int, *, client: BotPenguinClient | None, now: datetime, force: bool, lease: _Lease
) -> Outcome:
    changes = list(
        LeadChange.objects.filter(lead_id=lead_id, state__in=LeadChange.OPEN_STATES)
        .select_related("lead__bot")
        .order_by("id")
    )
    if not changes:
        refresh_change_state(lead_id)
        return Outcome(lead_id, "idle")
    if any(c.state == LeadChange.State.FAILED for c in changes):
        return Outcome(lead_id, "failed", "waiting for a person to retry or discard")
    first = changes[0]
    if not force and first.next_attempt_at and first.next_attempt_at > now:
        return Outcome(lead_id, "pending", "not due yet")
    lead = first.lead
    if not lead.bot.active:  # kept pending until the bot is active again
        return Outcome(lead_id, "inactive", f"the bot {lead.bot.name} is inactive")
    merged: dict = {}
    for change in changes:
        merged.update(change.after)
    bot_id, customer_id = put_ids(lead.bot)
    body = build_put_body(uuid=lead.uuid, bot_id=bot_id, customer_id=customer_id, **merged)
    ids = tuple(c.pk for c in changes)
    own_client = client is None
    try:
        if own_client:
            client = client_for(lead.bot, read_timeout=settings.BOTPENGUIN_EDIT_TIMEOUT, retries=0)
        client.put_lead(body)
    except BotPenguinError as e:
        return _record_failure(lead_id, changes, e, lease)
    finally:
        if own_client and client is not None:
            client.close()
    delivered_at = timezone.now()
    with bookkeeping():
        later_fields: set[str] = set()
        for change in reversed(changes):
            own = set(change.after)
            superseded = change is not changes[-1] and own <= later_fields
            LeadChange.objects.filter(pk=change.pk, state=LeadChange.State.PENDING).update(
                state=LeadChange.State.SUPERSEDED if superseded else LeadChange.State.DELIVERED,
                attempts=change.attempts + 1,
                delivered_at=delivered_at,
                last_error="",
                last_http_status=200,
                body=body,
            )
            later_fields |= own
        # The lead's row before the insights' dirty days, the order every writer takes them in
        # (an edit, a sync batch): the other order deadlocked with a sync on PostgreSQL.
        lease.drop(delivered=True)
        _record_status_change(lead, changes)
    logger.info("Delivered %d change(s) of lead %s in one PUT", len(changes), lead_id)
    return Outcome(lead_id, "delivered", change_ids=ids, woken=wake_waiting(lead.bot_id))


def _record_status_change(lead: Lead, changes: list[LeadChange]) -> None:
    """The status transition BotPenguin accepted in this PUT, if any: from the status before
    the first of these edits to the one sent, dated and signed by the last edit that set it."""
    setting = [change for change in changes if "status" in change.after]
    if not setting:
        return
    before = setting[0].before.get("status", "")
    last = setting[-1]
    if last.after["status"] == before:
        return
    StatusChange.objects.create(
        lead_id=lead.pk,
        bot_id=lead.bot_id,
        from_status=before,
        to_status=last.after["status"],
        at=last.created_at,
        source=StatusChange.Source.BOTPANEL,
        user_id=last.user_id,
        change=last,
    )
    rollup.touch([lead.pk])


def wake_waiting(bot_id: int) -> int:
    """BotPenguin just accepted an edit for this bot: its edits still backing off after it was
    unreachable are due now, not minutes after it came back. Those it asked to wait for
    (429 with Retry-After) keep their time."""
    now = timezone.now()
    return (
        LeadChange.objects.filter(
            state=LeadChange.State.PENDING, next_attempt_at__gt=now, lead__bot_id=bot_id
        )
        .exclude(last_http_status=429)
        .update(next_attempt_at=now)
    )


def describe_error(error: BotPenguinError) -> str:
    """One sentence for a person, never containing the token."""
    if isinstance(error, AuthRejected):
        return "BotPenguin rejected the API token."
    return str(error)


def _record_failure(
    lead_id: int, changes: list[LeadChange], error: BotPenguinError, lease: _Lease
) -> Outcome:
    message = describe_error(error)
    status = getattr(error, "status", None)
    ids = tuple(c.pk for c in changes)
    with bookkeeping():
        if error.transient:
            attempts = max(c.attempts for c in changes) + 1
            delay = backoff_seconds(attempts, getattr(error, "retry_after", None))
            for change in changes:
                LeadChange.objects.filter(pk=change.pk, state=LeadChange.State.PENDING).update(
                    attempts=change.attempts + 1,
                    next_attempt_at=timezone.now() + timedelta(seconds=delay),
                    last_error=message,
                    last_http_status=status,
                )
            state = "pending"
        else:
            for change in changes:
                LeadChange.objects.filter(pk=change.pk, state=LeadChange.State.PENDING).update(
                    state=LeadChange.State.FAILED,
                    attempts=change.attempts + 1,
                    last_error=message,
                    last_http_status=status,
                )
            state = "failed"
        lease.drop()
    logger.info("Delivery for lead %s: %s (%s)", lead_id, state, message)
    return Outcome(lead_id, state, message, ids)


def due_lead_ids(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Leads with a pending change due now, oldest change first."""
    now = now or timezone.now()
    rows = (
        LeadChange.objects.filter(state=LeadChange.State.PENDING, lead__bot__active=True)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("id")
        .values_list("lead_id", flat=True)[: limit * 5]
    )
    seen: dict[int, None] = {}
    for lead_id in rows:
        seen.setdefault(lead_id, None)
    return list(seen)[:limit]


def deliver_due(*, force: bool = False, client: BotPenguinClient | None = None) -> list[Outcome]:
    """Deliver every lead whose changes are due (all pending ones with force), once each, of
    every active bot. Each lead goes to its own bot's API with that bot's token: a bot whose
    token is refused fails its own edits only."""
    now = timezone.now()
    if force:
        lead_ids = list(
            dict.fromkeys(
                LeadChange.objects.filter(state=LeadChange.State.PENDING, lead__bot__active=True)
                .order_by("id")
                .values_list("lead_id", flat=True)
            )
        )
    else:
        lead_ids = due_lead_ids(now=now)
    return [deliver_lead(lead_id, client=client, now=now, force=force) for lead_id in lead_ids]
