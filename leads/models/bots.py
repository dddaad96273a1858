"""The BotPenguin bots whose chats BotPanel mirrors, and who may see each."""

from django.conf import settings
from django.db import models

from leads import crypto


class Bot(models.Model):
    """One BotPenguin bot: where its API is, its IDs and its API token. The token is encrypted
    at rest (leads.bots.crypto) and write-only: `set_token` stores it, `reveal_token` is for the
    API client alone, and nothing shows it."""

    name = models.CharField(max_length=100, unique=True)
    api_url = models.CharField("API base URL", max_length=500)
    remote_bot_id = models.CharField("Bot ID", max_length=255)
    customer_id = models.CharField("Customer ID", max_length=255)
    token_encrypted = models.TextField(blank=True, editable=False)
    active = models.BooleanField(default=True, help_text="Synced and delivered to")
    # The bot the BOTPENGUIN_* settings define: its URL, IDs and token are read from the
    # environment when it is used (leads.bots.config), never stored here.
    from_environment = models.BooleanField(default=False, editable=False)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="bots",
        help_text="Who sees and works on this bot's leads (superusers see every bot)",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["from_environment"],
                condition=models.Q(from_environment=True),
                name="bot_one_from_environment",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_token(self) -> bool:
        return bool(self.token_encrypted)

    def set_token(self, token: str) -> None:
        self.token_encrypted = crypto.encrypt(token) if token else ""

    def reveal_token(self) -> str:
        """The token in clear, for the API client only. Raises crypto.TokenUnreadable."""
        return crypto.decrypt(self.token_encrypted) if self.token_encrypted else ""

    # Django templates never call it (they would call a method without arguments).
    reveal_token.alters_data = True
