"""How the pages show a few values: moments, clipped text, status and change badges. Shared by
the Django templates (through leads_extras), the Jinja2 rows of the list and the tables."""

import functools
from datetime import UTC, datetime, tzinfo
from urllib.parse import quote

from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timezone import localtime

from leads.botpenguin.records import STATUS_LABELS
from leads.models import Status

STATUS_COLOURS = {
    "OPEN": "primary",
    "INPROGRESS": "info",
    "REVIEW": "warning",
    "ONHOLD": "secondary",
    "DEPENDANCY": "dark",
    "CLOSED": "success",
}

# Edits not yet accepted by BotPenguin: (colour, tooltip, text) of the lead's badge.
CHANGE_BADGES = {
    "pending": ("warning", "Saved in BotPanel, waiting to be sent to BotPenguin", "Pending"),
    "failed": (
        "danger",
        "BotPenguin refused an edit: open the lead to retry or discard it",
        "Failed",
    ),
    "not_kept": (
        "secondary",
        "BotPenguin accepted an edit but did not keep it: see the lead's history",
        "Not kept",
    ),
}


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# (seconds in the unit, singular, plural) from the largest; under a minute is "just now".
UNITS = (
    (365 * 86400, "year", "years"),
    (30 * 86400, "month", "months"),
    (86400, "day", "days"),
    (3600, "h", "h"),
    (60, "min", "min"),
)


def relative(value: datetime, now: datetime) -> str:
    """How far `value` is from `now`: "just now", "5 min ago", "3 h ago", "in 2 days" (the
    same rules as static/js/app.js, which keeps the text fresh in an open page)."""
    seconds = (value - now).total_seconds()
    distance = abs(seconds)
    for size, one, many in UNITS:
        if distance >= size:
            count = int(distance // size)
            text = f"{count} {one if count == 1 else many}"
            return f"in {text}" if seconds > 0 else f"{text} ago"
    return "just now"


def exact(value: datetime, time_zone: tzinfo | None = None) -> str:
    """The moment in full for a tooltip: "5 Oct 2026, 14:03 IST", in `time_zone`."""
    at = localtime(value, time_zone)
    return f"{at.day} {MONTHS[at.month - 1]} {at.year}, {at.hour:02d}:{at.minute:02d} {at.tzname()}"


def moment(
    value: datetime | None, now: datetime, time_zone: tzinfo | None = None, *, title: bool = True
) -> str:
    """The one way a moment is shown: relative to `now`, the exact time (in `time_zone`) in the
    tooltip and the machine-readable one in `datetime`; "" for no moment. Without `title` (the
    list's rows, which must stay light) static/js/app.js writes the tooltip, in the page's
    time zone (<html data-tz>)."""
    if value is None:
        return ""
    if not title:
        return format_html(
            '<time datetime="{}">{}</time>',
            value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            relative(value, now),
        )
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        exact(value, time_zone),
        relative(value, now),
    )


def visitor(uuid: str) -> str:
    """What a lead without name or email is called: "Visitor · 3f2a9c" (the end of its uuid)."""
    return f"Visitor · {''.join(c for c in uuid if c.isalnum())[-6:]}"


def short_id(value: str) -> str:
    """A long id shortened for a narrow cell: its first 8 characters and an ellipsis."""
    return value if len(value) <= 10 else value[:8] + "…"


def contact_links(email: str, dial_code: str, phone: str) -> dict[str, str]:
    """The detail page's contact actions: `mailto` for an address with an @, and for a phone
    number `tel`, `whatsapp` (wa.me) and the `number` (+digits): digits only, the country's
    dial code first (unless the number starts with +), a national number's leading zeros
    dropped, as wa.me asks."""
    links = {}
    if "@" in email and not any(c.isspace() or c in '<>"' for c in email):
        links["mailto"] = "mailto:" + quote(email, safe="@+.!$&*=^_`{|}~-")
    digits = "".join(c for c in phone if c.isdigit())
    country = "".join(c for c in dial_code if c.isdigit())
    if digits and country and not phone.lstrip().startswith("+"):
        digits = country + digits.lstrip("0")
    if len(digits) >= 5:
        links.update(number=f"+{digits}", tel=f"tel:+{digits}", whatsapp=f"https://wa.me/{digits}")
    return links


def clip(text: str, length: int) -> str:
    """`text` cut to `length` characters, the last of them an ellipsis, when it is longer."""
    return text if len(text) <= length else text[: length - 1] + "…"


# Badges and options are the same few fragments on every row, so they are kept once made.
@functools.lru_cache(maxsize=64)
def status_badge(status: str) -> SafeString:
    """The status as a coloured badge ("No status" without one, a dash for an unknown one)."""
    if not status:
        return format_html('<span class="badge text-bg-light border">{}</span>', "No status")
    if status in STATUS_COLOURS:
        return format_html(
            '<span class="badge text-bg-{} status-badge">{}</span>',
            STATUS_COLOURS[status],
            STATUS_LABELS[status],
        )
    return format_html('<span class="badge text-bg-light status-badge">{}</span>', "—")


@functools.lru_cache(maxsize=64)
def row_status(status: str) -> SafeString:
    """A list row's status as a badge of its colour (st-VALUE), which static/js/list.js turns
    into the row's status select; "—" (st-none) when it is none of the six."""
    if status in Status.values:
        return format_html('<span class="st st-{}">{}</span>', status, Status(status).label)
    return format_html('<span class="st st-none">{}</span>', "—")


@functools.lru_cache(maxsize=8)
def change_badge(change_state: str) -> str:
    """The "Pending" or "Failed" badge while a lead has edits BotPenguin has not accepted."""
    if change_state not in CHANGE_BADGES:
        return ""
    colour, title, text = CHANGE_BADGES[change_state]
    return format_html(
        '<span class="badge text-bg-{} change-badge" title="{}">{}</span>', colour, title, text
    )
