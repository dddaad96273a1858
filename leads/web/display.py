"""How the pages show a few values: moments, clipped text, status and change badges. Shared by
the Django templates (through leads_extras), the Jinja2 rows of the list and the tables."""

import functools
from datetime import datetime, tzinfo

from django.utils.html import format_html, format_html_join
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


def when(value: datetime | None, time_zone: tzinfo | None = None) -> str:
    """A moment as the tables show it, "05 Oct 2026 14:03", in `time_zone` (by default the
    current one, which a table of many moments reads once)."""
    if value is None:
        return ""
    at = localtime(value, time_zone)
    return f"{at.day:02d} {MONTHS[at.month - 1]} {at.year:04d} {at.hour:02d}:{at.minute:02d}"


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
def status_options(status: str) -> SafeString:
    """The <option>s of a status <select>, `status` selected (after a dash when it is none of
    the six)."""
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, " selected" if value == status else "", label) for value, label in Status.choices),
    )
    if status in Status.values:
        return options
    return format_html('<option value="" selected>{}</option>{}', "—", options)


@functools.lru_cache(maxsize=8)
def change_badge(change_state: str) -> str:
    """The "Pending" or "Failed" badge while a lead has edits BotPenguin has not accepted."""
    if change_state not in CHANGE_BADGES:
        return ""
    colour, title, text = CHANGE_BADGES[change_state]
    return format_html(
        '<span class="badge text-bg-{} change-badge" title="{}">{}</span>', colour, title, text
    )
