"""The uuid in a lead's URL: any uuid BotPanel mirrors, as exactly one path segment.

Why not Django's `path` converter: with it `leads/a/edit/status/` is both lead "a"'s status form
and the detail page of a lead whose uuid is "a/edit/status", browsers resolve a uuid of `..` away
before asking, and `?` and `#` would still need quoting. Percent-encoding every character outside
`A-Za-z0-9_.~-` (and every character of `.`, `..` and the segments other routes use) keeps a `/`
out of the segment, so no route can take another's suffix or segment; and accepting only that one
spelling makes uuid <-> segment a bijection, so no URL opens a lead other than its own.
"""

from urllib.parse import quote, unquote

from django.utils.http import RFC3986_SUBDELIMS

# Segments spelled out in full: browsers resolve the dot-segments away ("leads/../" is "/"), and
# leads/urls.py gives the others to its own routes under leads/ ("leads/bulk/" is the bulk form).
SPELLED_OUT = frozenset({".", "..", "bulk", "tags"})
# What reverse() leaves unquoted in what a converter gives it (django.urls.resolvers does the
# same), so that lead_url() builds the very URL reverse() would.
REVERSE_SAFE = RFC3986_SUBDELIMS + "/~:@"


class UuidConverter:
    # Unreserved characters and upper-case %XX escapes, never a "/": one segment.
    regex = r"(?:[A-Za-z0-9_.~-]|%[0-9A-F]{2})+"

    def to_python(self, value: str) -> str:
        uuid = unquote(value, errors="strict")  # invalid UTF-8 raises, a ValueError: no match
        if self.to_url(uuid) != value:
            # Another spelling of some uuid ("%41" for "A"): only the canonical one resolves.
            raise ValueError(value)
        return uuid

    def to_url(self, value: str) -> str:
        if value in SPELLED_OUT:
            return "".join(f"%{byte:02X}" for byte in value.encode())
        return quote(value, safe="-._~")


def url_segment(uuid: str) -> str:
    """The uuid's segment as it appears in the URL reverse() builds (the converter's
    percent-encoding, whose "%" reverse() then quotes again)."""
    return quote(UuidConverter().to_url(uuid), safe=REVERSE_SAFE)
