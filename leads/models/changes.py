"""The change log: every edit a person made, as sent (or to be sent) to BotPenguin."""

from django.conf import settings
from django.db import models

from leads.models.leads import Lead


class LeadChange(models.Model):
    """One edit a person made, as sent (or to be sent) to BotPenguin."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        SUPERSEDED = "superseded", "Superseded"
        DISCARDED = "discarded", "Discarded"
        # Delivered, but the first sync after it still listed the value from before the edit.
        NOT_KEPT = "not_kept", "Not kept by BotPenguin"

    OPEN_STATES = (State.PENDING, State.FAILED)

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="changes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=32)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    body = models.JSONField(default=dict, blank=True, help_text="The PUT body")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(
        null=True, blank=True, help_text="When a sync compared the delivered edit with BotPenguin"
    )
    base_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The lead version the person's form was based on"
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who retried or discarded it",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "state", "id"], name="change_lead_state"),
            models.Index(fields=["state", "next_attempt_at"], name="change_state_next"),
        ]

    def __str__(self) -> str:
        return f"{self.action} on {self.lead_id} ({self.state})"

    @property
    def fields(self) -> list[str]:
        return list(self.after)
