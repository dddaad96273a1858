"""A bot's BotPenguin client, and the environment's bot.

Bots added with `addbot` keep their URL, IDs and encrypted token in the database. The bot the
BOTPENGUIN_* settings define (the environment's bot, named BOTPENGUIN_BOT_NAME) is a row too, so
that its leads belong to it, but its URL, IDs and token are read from the settings each time it is
used: `ensure_environment_bot` keeps the row in step (on migrate and when a sync or a delivery
starts). A missing value is reported as one clear sentence naming what to set, when a sync or an
edit is attempted: the dashboard itself runs without any bot.
"""

from dataclasses import dataclass

from django.conf import settings

from leads.botpenguin.client import BotPenguinClient, ClientConfig
from leads.botpenguin.errors import ConfigurationError
from leads.crypto import TokenUnreadable
from leads.models import Bot

# The environment's settings, each with what to put there.
ENVIRONMENT = (
    ("BOTPENGUIN_API_URL", "the BotPenguin API base URL"),
    ("BOTPENGUIN_API_TOKEN", "the API token issued by BotPenguin support"),
    ("BOTPENGUIN_BOT_ID", "the Bot ID from the bot page URL"),
    ("BOTPENGUIN_CUSTOMER_ID", "the Customer ID from the bot page URL"),
)


@dataclass(frozen=True)
class Credentials:
    api_url: str
    token: str
    bot_id: str
    customer_id: str


def _setting(name: str) -> str:
    return str(getattr(settings, name, "") or "").strip()


def environment_defined() -> bool:
    """Whether the settings define a bot (its token or its Bot ID is set)."""
    return bool(_setting("BOTPENGUIN_API_TOKEN") or _setting("BOTPENGUIN_BOT_ID"))


def ensure_environment_bot() -> Bot | None:
    """Create or update the environment's bot from the settings; None when they define none."""
    if not environment_defined():
        return Bot.objects.filter(from_environment=True).first()
    wanted = {
        "name": _setting("BOTPENGUIN_BOT_NAME") or "BotPenguin",
        "api_url": _setting("BOTPENGUIN_API_URL"),
        "remote_bot_id": _setting("BOTPENGUIN_BOT_ID"),
        "customer_id": _setting("BOTPENGUIN_CUSTOMER_ID"),
    }
    bot = Bot.objects.filter(from_environment=True).first()
    if bot is None:
        bot, _ = Bot.objects.get_or_create(
            name=wanted["name"], defaults={**wanted, "from_environment": True}
        )
        if not bot.from_environment:  # a bot added by hand under that name: it stays as it is
            return bot
    changed = [field for field, value in wanted.items() if getattr(bot, field) != value]
    if changed:
        for field in changed:
            setattr(bot, field, wanted[field])
        bot.save(update_fields=changed)
    return bot


NO_BOT = (
    "No bot is configured: set BOTPENGUIN_API_TOKEN and the other BOTPENGUIN_* settings, or add "
    "one with python manage.py addbot (see README)."
)


def default_bot() -> Bot:
    """The bot a sync or a command means when it names none: the environment's, else the only
    active one. ConfigurationError when there is none (or several and none from the
    environment)."""
    bot = ensure_environment_bot()
    if bot is not None:
        return bot
    active = list(Bot.objects.filter(active=True)[:2])
    if len(active) == 1:
        return active[0]
    raise ConfigurationError(NO_BOT if not active else "Several bots: say which one.")


def credentials(bot: Bot) -> Credentials:
    """Where and how to reach `bot`; ConfigurationError naming what is missing."""
    if bot.from_environment:
        for name, what in ENVIRONMENT:
            if not _setting(name):
                raise ConfigurationError(
                    f"{name} is not set: put {what} in the environment or .env (see README)."
                )
        return Credentials(
            api_url=_setting("BOTPENGUIN_API_URL"),
            token=_setting("BOTPENGUIN_API_TOKEN"),
            bot_id=_setting("BOTPENGUIN_BOT_ID"),
            customer_id=_setting("BOTPENGUIN_CUSTOMER_ID"),
        )
    try:
        token = bot.reveal_token()
    except TokenUnreadable as e:
        raise ConfigurationError(f"Bot {bot.name}: {e}") from e
    missing = [
        label
        for label, value in (
            ("API base URL", bot.api_url),
            ("API token", token),
            ("Bot ID", bot.remote_bot_id),
            ("Customer ID", bot.customer_id),
        )
        if not value.strip()
    ]
    if missing:
        raise ConfigurationError(
            f"Bot {bot.name}: its {missing[0]} is not set (python manage.py addbot, see README)."
        )
    return Credentials(bot.api_url.strip(), token.strip(), bot.remote_bot_id, bot.customer_id)


def check_configured(bot: Bot) -> None:
    """Raise ConfigurationError naming the first missing setting of `bot`."""
    credentials(bot)


def client_for(
    bot: Bot, *, read_timeout: float | None = None, retries: int | None = None
) -> BotPenguinClient:
    """A client for `bot`. Callers close it (it is a context manager)."""
    found = credentials(bot)
    try:
        config = ClientConfig(
            base_url=found.api_url,
            token=found.token,
            bot_id=found.bot_id,
            customer_id=found.customer_id,
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
        where = "BOTPENGUIN_API_URL" if bot.from_environment else f"Bot {bot.name}'s API URL"
        raise ConfigurationError(f"{where} is not usable: {e}") from e


def put_ids(bot: Bot) -> tuple[str, str]:
    """(Bot ID, Customer ID) for a PUT body about one of `bot`'s leads."""
    if bot.from_environment:
        return _setting("BOTPENGUIN_BOT_ID"), _setting("BOTPENGUIN_CUSTOMER_ID")
    return bot.remote_bot_id, bot.customer_id
