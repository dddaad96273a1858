"""Secrets at rest: the bots' API tokens are encrypted with Fernet keys from BOTPANEL_ENCRYPTION_KEY.

Several keys, comma-separated, allow rotation: the first encrypts, every one decrypts
(MultiFernet); `python manage.py rotate_bot_tokens` re-encrypts every token with the first key,
after which the old keys can be removed.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class TokenUnreadable(Exception):
    """A stored token cannot be decrypted with any configured key."""


@cache
def _keys(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured(
            "BOTPANEL_ENCRYPTION_KEY is not set: it encrypts the bots' API tokens. `make run` "
            'writes one into .env; or generate one with `python -c "from cryptography.fernet '
            'import Fernet; print(Fernet.generate_key().decode())"`.'
        )
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as e:
        raise ImproperlyConfigured(
            "BOTPANEL_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64-encoded bytes), "
            "comma-separated."
        ) from e


def fernet() -> MultiFernet:
    return _keys(tuple(settings.BOTPANEL_ENCRYPTION_KEYS))


def encrypt(secret: str) -> str:
    return fernet().encrypt(secret.encode()).decode("ascii")


def decrypt(stored: str) -> str:
    try:
        return fernet().decrypt(stored.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as e:
        raise TokenUnreadable(
            "The bot's API token cannot be decrypted with BOTPANEL_ENCRYPTION_KEY (was the key "
            "changed without keeping the old one?): set the token again with addbot."
        ) from e


def rotate(stored: str) -> str:
    """`stored` re-encrypted with the first key."""
    try:
        return fernet().rotate(stored.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError) as e:
        raise TokenUnreadable("A stored token cannot be decrypted with any key.") from e
