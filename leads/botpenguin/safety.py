"""Checks for hostile values that come from the API (no Django)."""

from urllib.parse import urlsplit


def safe_http_url(value: object) -> str:
    """Return `value` if it is an absolute http(s) URL with a host, else "".

    Pictures and links from BotPenguin reach `src` and `href` attributes: `javascript:`, `data:`,
    protocol-relative and malformed URLs must never get there.
    """
    if not isinstance(value, str):
        return ""
    url = value.strip()
    if not url or len(url) > 2000 or any(ch in url for ch in "\x00\r\n\t\"'<> \\"):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    return url
