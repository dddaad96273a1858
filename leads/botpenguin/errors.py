"""The client's own exceptions. Messages are one line and never contain the API token."""

from __future__ import annotations


class BotPenguinError(Exception):
    """Base class. `status` is the HTTP status when there was one; `message` is for people."""

    transient = False

    def __init__(self, message: str, *, status: int | None = None):
        self.message = " ".join(str(message).split())
        self.status = status
        super().__init__(self.message)


class ConfigurationError(BotPenguinError):
    """A BotPenguin setting is missing or unusable; the message names the variable."""


class AuthRejected(BotPenguinError):
    """401/403: BotPenguin rejected the API token."""

    def __init__(self, status: int, api_message: str = ""):
        text = f"BotPenguin rejected the API token (HTTP {status})"
        if api_message:
            text += f": {api_message}"
        super().__init__(text, status=status)
        self.api_message = api_message


class ValidationRejected(BotPenguinError):
    """400 and other 4xx: BotPenguin refused the request; `api_message` is its reason."""

    def __init__(self, status: int, api_message: str = ""):
        text = f"BotPenguin refused the request (HTTP {status})"
        if api_message:
            text += f": {api_message}"
        super().__init__(text, status=status)
        self.api_message = api_message


class Unavailable(BotPenguinError):
    """Timeouts, connection errors, 5xx and 429 after retries. Trying again later may work."""

    transient = True

    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(f"BotPenguin is unavailable: {reason}", status=status)
        self.retry_after = retry_after


class MalformedResponse(BotPenguinError):
    """A 2xx answer that is not the documented shape (not JSON, no `data` list)."""

    transient = True


class Redirected(BotPenguinError):
    """A 3xx answer. Never followed (the token and the body must not reach another host) and
    never retried: a person has to check BOTPENGUIN_API_URL."""

    def __init__(self, status: int, host: str):
        super().__init__(
            f"BotPenguin answered with a redirect (HTTP {status}) to {host}; it was not followed",
            status=status,
        )
        self.host = host
