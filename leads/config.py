"""Builds the BotPenguin client from Django settings.

A missing setting is reported as one clear sentence naming the variable, when a sync or an edit
is attempted: the dashboard itself runs without BotPenguin settings.
"""

from dataclasses import dataclass

from django.conf import settings

from leads.botpenguin.client import BotPenguinClient, ClientConfig
from leads.botpenguin.errors import ConfigurationError

_REQUIRED = (
    ("BOTPENGUIN_API_URL", "the BotPenguin API base URL"),
    ("BOTPENGUIN_API_TOKEN", "the API token issued by BotPenguin support"),
    ("BOTPENGUIN_BOT_ID", "the Bot ID from the bot page URL"),
    ("BOTPENGUIN_CUSTOMER_ID", "the Customer ID from the bot page URL"),
)


@dataclass(frozen=True)
class Account:
    bot_id: str
    customer_id: str


def check_configured() -> None:
    """Raise ConfigurationError naming the first missing BotPenguin setting."""
    for name, what in _REQUIRED:
        if not str(getattr(settings, name, "") or "").strip():
            raise ConfigurationError(
                f"{name} is not set: put {what} in the environment or .env (see README)."
            )


def get_account() -> Account:
    check_configured()
    return Account(
        bot_id=settings.BOTPENGUIN_BOT_ID.strip(),
        customer_id=settings.BOTPENGUIN_CUSTOMER_ID.strip(),
    )


def get_client(
    *, read_timeout: float | None = None, retries: int | None = None
) -> BotPenguinClient:
    """A client for the configured account. Callers close it (it is a context manager)."""
    account = get_account()
    try:
        config = ClientConfig(
            base_url=settings.BOTPENGUIN_API_URL.strip(),
            token=settings.BOTPENGUIN_API_TOKEN.strip(),
            bot_id=account.bot_id,
            customer_id=account.customer_id,
            connect_timeout=settings.BOTPENGUIN_CONNECT_TIMEOUT,
            read_timeout=read_timeout
            if read_timeout is not None
            else settings.BOTPENGUIN_READ_TIMEOUT,
            retries=retries if retries is not None else settings.BOTPENGUIN_RETRIES,
            backoff_factor=settings.BOTPENGUIN_RETRY_BACKOFF,
            max_response_bytes=int(settings.BOTPENGUIN_MAX_RESPONSE_MB * 1024 * 1024),
        )
        return BotPenguinClient(config)
    except ValueError as e:
        raise ConfigurationError(f"BOTPENGUIN_API_URL is not usable: {e}") from e
