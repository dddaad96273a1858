"""Adding and updating bots from the command line (`addbot`), and re-encrypting their tokens."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from leads import crypto
from leads.botpenguin.safety import safe_http_url
from leads.models import Bot

DEFAULT_API_URL = "https://api.v7.botpenguin.com"


class BotRefused(ValueError):
    """What was asked of a bot cannot be done; the message says why, in one sentence."""


@dataclass(frozen=True)
class Saved:
    bot: Bot
    created: bool
    changed: tuple[str, ...]  # the fields set (the token as "token", never its value)


def save_bot(
    name: str,
    *,
    bot_id: str | None,
    customer_id: str | None,
    api_url: str | None,
    token: str | None,
) -> Saved:
    """Create the bot `name` or update the values given (None keeps a value; `token` None or
    empty keeps the stored token)."""
    name = name.strip()
    if not name:
        raise BotRefused("The bot needs a name.")
    if api_url is not None:
        api_url = _checked_url(api_url)
    with transaction.atomic():
        bot = Bot.objects.select_for_update().filter(name=name).first()
        created = bot is None
        if bot is not None and bot.from_environment:
            raise BotRefused(
                f"{name} is the environment's bot: change BOTPENGUIN_* in the environment or "
                ".env instead."
            )
        if created:
            missing = [
                flag
                for flag, value in (("--bot-id", bot_id), ("--customer-id", customer_id))
                if not (value or "").strip()
            ]
            if missing:
                raise BotRefused(f"A new bot needs {' and '.join(missing)}.")
            if not token:
                raise BotRefused(
                    "A new bot needs its API token (standard input or BOTPENGUIN_API_TOKEN)."
                )
            bot = Bot(name=name, api_url=api_url or DEFAULT_API_URL)
        wanted = {"remote_bot_id": bot_id, "customer_id": customer_id, "api_url": api_url}
        changed = []
        for field, value in wanted.items():
            if value is not None and value.strip() and getattr(bot, field) != value.strip():
                setattr(bot, field, value.strip())
                changed.append(field)
        if token and not _same_token(bot, token):
            bot.set_token(token)
            changed.append("token")
        bot.save()
    return Saved(bot, created, tuple(changed))


def _same_token(bot: Bot, token: str) -> bool:
    try:
        return bool(bot.token_encrypted) and bot.reveal_token() == token
    except crypto.TokenUnreadable:  # unreadable: the new one replaces it
        return False


def _checked_url(value: str) -> str:
    url = safe_http_url(value.strip())
    if not url:
        raise BotRefused("--api-url must be an absolute http(s) URL.")
    return url


def rotate_tokens() -> tuple[int, list[str]]:
    """Re-encrypt every stored token with the first key: (how many, names of the unreadable)."""
    rotated = 0
    unreadable = []
    for bot in Bot.objects.exclude(token_encrypted="").order_by("name"):
        try:
            stored = crypto.rotate(bot.token_encrypted)
        except crypto.TokenUnreadable:
            unreadable.append(bot.name)
            continue
        Bot.objects.filter(pk=bot.pk).update(token_encrypted=stored)
        rotated += 1
    return rotated, unreadable
