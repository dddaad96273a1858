"""What an account must do before anything else."""

from django.conf import settings
from django.db import models


class PasswordChangeRequired(models.Model):
    """A one-time password (from `createagent`) was handed out: the user must choose their own
    at the next login before doing anything else."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="password_change_required"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} must change their password"


class AgentProfile(models.Model):
    """A BotPanel user as a person of the team: the BotPenguin agent id their leads are assigned
    to (`Lead.agent_id`, the PUT's `agentId`) and the time zone their pages show dates in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile"
    )
    agent_id = models.CharField(
        "BotPenguin agent id",
        max_length=255,
        blank=True,
        help_text="The id BotPenguin assigns this person's leads to; blank when not linked",
    )
    time_zone = models.CharField(
        max_length=64, blank=True, help_text="IANA name, e.g. Asia/Kolkata; blank: the server's"
    )

    class Meta:
        constraints = [
            # One person per agent id: a name shown for an id must be unambiguous.
            models.UniqueConstraint(
                fields=["agent_id"],
                condition=~models.Q(agent_id=""),
                name="agentprofile_unique_agent_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.agent_id or 'not linked'})"
