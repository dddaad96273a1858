"""Checks for hostile values that come from the API (no Django)."""

import re
from urllib.parse import urlsplit

# Characters no picture URL may hold: they could end an attribute or smuggle markup.
_FORBIDDEN = re.compile("[\x00\r\n\t\"'<> \\\\]")


def safe_http_url(value: object) -> str:
    """Return `value` if it is an absolute http(s) URL with a host, else "".

    Pictures and links from BotPenguin reach `src` and `href` attributes: `javascript:`, `data:`,
    protocol-relative and malformed URLs must never get there.
    """
    if not isinstance(value, str):
        return ""
    url = value.strip()
    if not url or len(url) > 2000 or _FORBIDDEN.search(url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    return url
