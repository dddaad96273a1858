"""Everything about the remote BotPenguin API. Imports no Django."""

from leads.botpenguin.client import BotPenguinClient, ClientConfig
from leads.botpenguin.errors import (
    AuthRejected,
    BotPenguinError,
    ConfigurationError,
    MalformedResponse,
    Redirected,
    Unavailable,
    ValidationRejected,
)
from leads.botpenguin.records import (
    STATUS_LABELS,
    STATUSES,
    ChatRecord,
    ParseError,
    build_put_body,
    normalise_dial_code,
    parse_chat,
    parse_datetime,
    record_to_put_body,
)

__all__ = [
    "STATUSES",
    "STATUS_LABELS",
    "AuthRejected",
    "BotPenguinClient",
    "BotPenguinError",
    "ChatRecord",
    "ClientConfig",
    "ConfigurationError",
    "MalformedResponse",
    "ParseError",
    "Redirected",
    "Unavailable",
    "ValidationRejected",
    "build_put_body",
    "normalise_dial_code",
    "parse_chat",
    "parse_datetime",
    "record_to_put_body",
]
