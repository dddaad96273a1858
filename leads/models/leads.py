"""The mirror: one row per BotPenguin chat user (a lead, or a non-lead chat) of a bot, and its
tags as rows for filtering.

BotPenguin is the source of truth. `Lead` rows are written by the sync (from GET /inbox/direct/chats)
and by `leads.services` when a person edits one (the edit is then sent to BotPenguin as a PUT).
Nothing else writes them.
"""

from collections.abc import Iterable

from django.db import models

from leads.botpenguin.records import STATUS_LABELS
from leads.botpenguin.safety import safe_http_url
from leads.models.bots import Bot


class Status(models.TextChoices):
    OPEN = "OPEN", STATUS_LABELS["OPEN"]
    INPROGRESS = "INPROGRESS", STATUS_LABELS["INPROGRESS"]
    REVIEW = "REVIEW", STATUS_LABELS["REVIEW"]
    ONHOLD = "ONHOLD", STATUS_LABELS["ONHOLD"]
    # The API's own spelling; shown to people as "Dependency".
    DEPENDANCY = "DEPENDANCY", STATUS_LABELS["DEPENDANCY"]
    CLOSED = "CLOSED", STATUS_LABELS["CLOSED"]


# The Lead fields a PUT /inbox/direct/lead can write.
EDITABLE_FIELDS = (
    "name",
    "email",
    "phone",
    "dial_code",
    "picture",
    "status",
    "agent_id",
    "tags",
    "notes",
    "attributes",
)


def phone_text(dial_code: str, phone: str) -> str:
    """A phone number as shown: "+91 98765 43210", or "" without a number."""
    return f"{dial_code} {phone}".strip() if phone else ""


def initials_of(name: str, email: str) -> str:
    """Up to two initials for an avatar, from the name (else the email); "?" without either."""
    parts = (name or email or "?").split()
    return "".join(p[0] for p in parts[:2]).upper() or "?"


# What the list's search (?q=) looks in (selectors.filters.LeadFilter.filter_q).
SEARCHED_COLUMNS = ("name", "email", "phone")


class Lead(models.Model):
    """One BotPenguin chat user (a lead, or a non-lead chat), as last seen or last written."""

    # Identity: a uuid is unique within its bot.
    bot = models.ForeignKey(Bot, on_delete=models.PROTECT, related_name="leads")
    uuid = models.CharField(max_length=255)
    remote_id = models.CharField("BotPenguin _id", max_length=255, blank=True)
    is_lead = models.BooleanField(default=True, help_text="Listed with type=lead (else non-lead)")

    # Fields the PUT can write
    name = models.CharField(max_length=1000, blank=True)
    email = models.CharField(max_length=1000, blank=True)
    phone = models.CharField(max_length=1000, blank=True)
    dial_code = models.CharField(max_length=16, blank=True, help_text='Always with "+", e.g. +91')
    picture = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    agent_id = models.CharField(max_length=255, blank=True, help_text='"" when unassigned')
    tags = models.JSONField(default=list, blank=True)
    notes = models.JSONField(default=list, blank=True, help_text="[{id, title, description}]")
    attributes = models.JSONField(default=list, blank=True, help_text="[{key, value}]")

    # Read-only extras of the GET
    city = models.CharField(max_length=1000, blank=True)
    country = models.CharField(max_length=1000, blank=True)
    gender = models.CharField(max_length=1000, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_message_by = models.CharField(max_length=255, blank=True)
    last_message_text = models.TextField(blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    is_online = models.BooleanField(default=False)
    website_visits = models.IntegerField(default=0)
    remote_created_at = models.DateTimeField(null=True, blank=True)
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    # Since its last status change (or since it arrived, while still Open): what "waiting" and
    # "overdue" are measured from. Set by the sync and by status edits.
    waiting_since = models.DateTimeField(null=True, blank=True)

    # Bookkeeping
    raw = models.JSONField(default=dict, blank=True, help_text="The chat exactly as last listed")
    raw_hash = models.CharField(max_length=64, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    missing_since = models.DateTimeField(
        null=True, blank=True, help_text="Set by a full sync that did not list this chat"
    )
    version = models.PositiveIntegerField(default=1, help_text="Bumped on every local change")

    # Edits not yet accepted by BotPenguin (see LeadChange). The mirror shows the edited values;
    # a sync leaves these fields alone until the change is delivered or discarded.
    pending_fields = models.JSONField(default=list, blank=True)
    change_state = models.CharField(
        max_length=16,
        blank=True,
        help_text='"pending" or "failed" while edits are undelivered; "not_kept" when BotPenguin '
        "accepted an edit but a later sync still listed the old value",
    )
    # Delivery lease: at most one PUT in flight per lead, across workers and machines. A worker
    # killed mid-delivery leaves the lease to expire and the change pending.
    delivery_lease_until = models.DateTimeField(null=True, blank=True)
    delivery_lease_owner = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-remote_updated_at", "-id"]
        # The roles (groups "Agent" and "Lead admin", migration 0004) are made of these plus
        # Django's own view/change permissions; leads.accounts.permissions is where they are checked.
        permissions = [
            ("triage_lead", "Can change status, add notes and edit tags (also in bulk)"),
            ("edit_lead_contact", "Can edit contact fields, picture, agent and attributes"),
            ("view_lead_raw", "Can see the raw JSON BotPenguin sent"),
            ("sync_leads", "Can start a sync"),
            ("resolve_lead_changes", "Can retry or discard edits BotPenguin refused"),
        ]
        constraints = [
            # uuid first: the pages and edits look a lead up by uuid (PostgreSQL cannot skip a
            # leading bot in an index), the sync by both.
            models.UniqueConstraint(fields=["uuid", "bot"], name="lead_unique_uuid_bot"),
        ]
        indexes = [
            # The list: one kind (lead / non-lead), newest first, optionally by status or agent.
            # On PostgreSQL it holds the searched columns too (INCLUDE; SQLite has no such
            # thing and makes the plain index): a search matching many leads tests them in the
            # index, in the list's order, and reads only the page's rows from the table.
            models.Index(
                fields=["is_lead", "-remote_updated_at", "-id"],
                include=SEARCHED_COLUMNS,
                name="lead_kind_updated",
            ),
            # The list scoped to one bot (`bot_id = X`, selectors.bots): seek the bot's kind, in
            # the list's order, and count it, without reading the other bots' rows.
            models.Index(
                fields=["bot", "is_lead", "-remote_updated_at", "-id"],
                include=SEARCHED_COLUMNS,
                name="lead_bot_kind_updated",
            ),
            models.Index(
                fields=["is_lead", "status", "-remote_updated_at", "-id"], name="lead_kind_status"
            ),
            models.Index(
                fields=["is_lead", "agent_id", "-remote_updated_at", "-id"], name="lead_kind_agent"
            ),
            models.Index(fields=["is_lead", "-remote_created_at"], name="lead_kind_created"),
            models.Index(fields=["is_lead", "name"], name="lead_kind_name"),
            models.Index(fields=["change_state"], name="lead_change_state"),
            # The overview's count of missing chats: the few rows that have a date, nothing for
            # the others (a sync writes missing_since = NULL on every chat it sees).
            models.Index(
                fields=["missing_since"],
                condition=models.Q(missing_since__isnull=False),
                name="lead_missing",
            ),
            # Overdue: per status, waiting since before that status's threshold.
            models.Index(
                fields=["is_lead", "status", "waiting_since"], name="lead_kind_status_waiting"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.email or self.uuid

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, "—")

    @property
    def phone_display(self) -> str:
        return phone_text(self.dial_code, self.phone)

    @property
    def picture_url(self) -> str:
        """The picture only when it is an http(s) URL: never javascript:, data: or worse."""
        return safe_http_url(self.picture)

    @property
    def initials(self) -> str:
        return initials_of(self.name, self.email)


class LeadTag(models.Model):
    """One row per (lead, tag): makes "leads with tag X" an index lookup on SQLite and PostgreSQL.

    `Lead.tags` keeps the list as BotPenguin orders it; these rows are derived from it and are
    rewritten whenever the list changes (by the sync or a service).
    """

    # No index of its own: the unique (lead, key) index serves lookups by lead.
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="tag_rows", db_index=False
    )
    name = models.CharField(max_length=255)
    key = models.CharField(max_length=255, help_text="casefolded name, for matching")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lead", "key"], name="leadtag_unique_lead_key"),
        ]
        indexes = [models.Index(fields=["key", "lead"], name="leadtag_key_lead")]

    def __str__(self) -> str:
        return self.name


def tag_rows(lead_id: int, tags: Iterable[str]) -> list[LeadTag]:
    """The LeadTag rows for a lead's tag list: one per casefolded tag, the first spelling kept."""
    rows: dict[str, LeadTag] = {}
    for tag in tags:
        key = tag.casefold()[:255]
        if key and key not in rows:
            rows[key] = LeadTag(lead_id=lead_id, name=tag[:255], key=key)
    return list(rows.values())
