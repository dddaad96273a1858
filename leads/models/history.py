"""Status history: every status a lead went through, as data for the board and insights."""

from django.conf import settings
from django.db import models

from leads.models.bots import Bot
from leads.models.changes import LeadChange
from leads.models.leads import Lead, Status


class StatusChange(models.Model):
    """One status transition of a lead, or its starting point.

    Written by the sync (a status BotPenguin lists that differs from the mirror's, timed by the
    chat's updatedAt; a new chat's first status, timed by its createdAt) and by the delivery of a
    person's status edit (timed when the person made it). Never by a page view."""

    class Source(models.TextChoices):
        # The status a lead had when BotPanel first saw it (no transition: nothing invented).
        START = "start", "First seen"
        BOTPANEL = "botpanel", "BotPanel"
        BOTPENGUIN = "botpenguin", "BotPenguin"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="status_changes")
    # The lead's bot, kept here so that a bot's history is read without joining the leads.
    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="+")
    from_status = models.CharField(
        max_length=16, choices=Status.choices, blank=True, help_text="Blank for a starting point"
    )
    to_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    at = models.DateTimeField()
    source = models.CharField(max_length=16, choices=Source.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    change = models.ForeignKey(
        LeadChange, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["lead", "at"], name="statuschange_lead_at"),
            # Insights: transitions into a status within a date range, per bot.
            models.Index(fields=["bot", "to_status", "at"], name="statuschange_bot_to_at"),
            models.Index(fields=["bot", "from_status", "at"], name="statuschange_bot_from_at"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.from_status or '·'} → {self.to_status} at {self.at}"
