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
