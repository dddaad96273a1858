"""The Jinja2 environment of the templates in templates/jinja2 (the lead list's table and rows),
for Django's own Jinja2 backend (settings.TEMPLATES)."""

from collections.abc import Callable

from django_tables2.templatetags.django_tables2 import table_page_range
from jinja2 import Environment, StrictUndefined

from leads.botpenguin.safety import safe_http_url
from leads.models import initials_of, phone_text
from leads.web.display import (
    change_badge,
    clip,
    moment,
    row_status,
    short_id,
    status_badge,
    visitor,
)


def initials(name: str, email: str) -> str:
    """{{ lead.name|initials(lead.email) }}: up to two initials for an avatar."""
    return initials_of(name, email)


def phone(number: str, dial_code: str) -> str:
    """{{ lead.phone|phone(lead.dial_code) }}: "+91 98765 43210", or "" without a number."""
    return phone_text(dial_code, number)


def ago(value, table) -> str:
    """{{ row.remote_updated_at|ago(table) }}: the moment as every page shows it (display.moment),
    told from the table's minute; its tooltip is written by app.js (rows stay light)."""
    return moment(value, table.now, table.time_zone, title=False)


def lead_url(uuid: str, url: Callable[[str], str]) -> str:
    """{{ row.uuid|lead_url(table.detail_url) }}: the URL that `url` (a tables.lead_url) gives
    the lead."""
    return url(uuid)


def environment(**options) -> Environment:
    # Escaping is never turned off; a misspelt variable fails instead of rendering as nothing.
    options.pop("autoescape", None)
    env = Environment(autoescape=True, **{**options, "undefined": StrictUndefined})
    # Filters rather than globals for what every row calls: Jinja2 calls a filter directly.
    env.filters.update(
        ago=ago,
        visitor=visitor,
        short_id=short_id,
        clip=clip,
        initials=initials,
        phone=phone,
        lead_url=lead_url,
        http_url=safe_http_url,
        status_badge=status_badge,
        row_status=row_status,
        change_badge=change_badge,
        table_page_range=table_page_range,
    )
    return env
