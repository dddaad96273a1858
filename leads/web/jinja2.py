"""The Jinja2 environment of the templates in templates/jinja2 (the pages an agent works in: the
lead list, its rows, the lead's page, the frame every page shares), for Django's own Jinja2
backend (settings.TEMPLATES), whose context processors give them what Django's give its
templates (request, user, perms, messages, csrf_token, the frame's values)."""

from collections.abc import Callable

from django.contrib.humanize.templatetags.humanize import naturaltime
from django.template.defaultfilters import linebreaksbr, pluralize, truncatechars, yesno
from django.templatetags.static import static
from django.urls import reverse
from django_tables2.templatetags.django_tables2 import table_page_range
from jinja2 import Environment, StrictUndefined, pass_context

from leads.botpenguin.safety import safe_http_url
from leads.models import initials_of, phone_text
from leads.selectors.macros import macro_summary
from leads.selectors.overdue import waiting
from leads.web import template_helpers as helpers
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


def url(name: str, *args) -> str:
    """url("leads:detail", uuid): reverse(), as Django's {% url %} tag."""
    return reverse(name, args=args)


@pass_context
def assign_control(context, lead) -> dict:
    return helpers.assign_control(context["request"], lead, context.get("bot_suffix", ""))


@pass_context
def agent_filter(context, value: str = "", assignable: bool = False) -> dict:
    return helpers.agent_filter(context["request"], value, assignable)


@pass_context
def list_macros(context) -> list:
    return helpers.list_macros(context.get("request"), context.get("chosen_bot"))


@pass_context
def undo_offer(context) -> dict | None:
    return helpers.undo_offer(context.get("request"))


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
        # Django's filters and tags of the same names, called directly.
        truncatechars=truncatechars,
        linebreaksbr=linebreaksbr,
        pluralize=pluralize,
        yesno=yesno,
        naturaltime=naturaltime,
        field_errors=helpers.field_errors,
        agent_label=helpers.agent_label,
        macro_summary=macro_summary,
    )
    env.globals.update(
        url=url,
        static=static,
        moment=helpers.moment,
        management_form=helpers.management_form,
        assign_control=assign_control,
        agent_filter=agent_filter,
        lead_macros=helpers.lead_macros,
        list_macros=list_macros,
        undo_offer=undo_offer,
        lead_waiting=waiting,
    )
    return env
