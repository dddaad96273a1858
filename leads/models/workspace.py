"""A team's workspace around the mirror: saved views, overdue thresholds, what each person has
opened, and the triage macros lead admins define. None of it is sent to BotPenguin."""

from django.conf import settings
from django.db import models

from leads.models.bots import Bot
from leads.models.leads import Lead, Status


class SavedView(models.Model):
    """A list URL (filters, search, sort, rows per page, bot) saved under a name.

    Personal views are seen by their owner only; shared ones by every member of `bot` (the
    team), or by everyone who sees the lead list when `bot` is empty."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=100)
    query = models.TextField(blank=True, help_text="The list's query string, without '?'")
    shared = models.BooleanField(default=False)
    bot = models.ForeignKey(
        Bot,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="saved_views",
        help_text="The team a shared view is shared with; blank: everyone",
    )
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["shared", "bot"], name="savedview_shared_bot")]

    def __str__(self) -> str:
        return self.name


class OverdueRule(models.Model):
    """How long a lead may wait in a status before it is overdue. A status without a rule
    never makes a lead overdue. Set by lead admins; migration 0014 seeds the defaults."""

    status = models.CharField(max_length=16, choices=Status.choices, unique=True)
    after_minutes = models.PositiveIntegerField(help_text="Overdue after this many minutes")

    class Meta:
        ordering = ["status"]

    def __str__(self) -> str:
        return f"{self.get_status_display()} after {self.after_minutes} min"


class LeadSeen(models.Model):
    """A person opened a lead's page: it is no longer new for them."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+", db_index=False)
    seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "lead"], name="leadseen_unique_user_lead")
        ]

    def __str__(self) -> str:
        return f"{self.user} saw {self.lead_id}"


class Macro(models.Model):
    """A named one-click triage action lead admins define: each part left blank leaves that
    field alone. Applying it is one edit per lead through `leads.services`."""

    class Assign(models.TextChoices):
        UNCHANGED = "", "Leave as is"
        ME = "me", "The person applying it"
        NOBODY = "none", "Unassigned"
        AGENT = "agent", "The agent below"

    name = models.CharField(max_length=100)
    bot = models.ForeignKey(
        Bot,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="macros",
        help_text="Offered on this bot's leads only; blank: every bot",
    )
    status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    assign = models.CharField(max_length=8, choices=Assign.choices, blank=True)
    agent_id = models.CharField(
        "agent id", max_length=255, blank=True, help_text='For "The agent below"'
    )
    add_tags = models.JSONField(default=list, blank=True)
    remove_tags = models.JSONField(default=list, blank=True)
    note_title = models.CharField(max_length=200, blank=True)
    note_template = models.TextField(
        blank=True, help_text="Added as a note; {name}, {email}, {agent} and {date} are filled in"
    )
    key = models.CharField(
        max_length=1, blank=True, help_text="A keyboard key (digit or letter) applying it"
    )
    position = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "name", "id"]

    def __str__(self) -> str:
        return self.name
