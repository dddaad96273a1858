"""What the pages' templates call besides plain values: the CSRF field, moments, form errors,
the Assign control, the agent filter, the macros and the undo on offer. The Jinja2 pages call
these as globals and filters (leads.web.jinja2); the Django templates through thin tags
(leads.templatetags), so both engines show the same markup from the same code."""

from __future__ import annotations

from django.forms import BoundField
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timezone import get_current_timezone, now

from leads import services
from leads.models import Lead, Macro
from leads.selectors import macros, people
from leads.selectors.bots import visibility
from leads.web import display
from leads.web.scope import current_bot
from leads.web.undo_offer import take_offer


def csrf_field(token) -> SafeString:
    """The form's hidden CSRF input, as Django's {% csrf_token %} writes it (`token`: the
    request's, read once per page)."""
    if not token or token == "NOTPROVIDED":  # noqa: S105 -- Django's marker for no token
        return SafeString("")
    return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)


def moment(value) -> str:
    """A moment as every page shows it: relative, the exact time in the person's time zone in
    the tooltip (display.moment); a dash for no moment."""
    return display.moment(value, now(), get_current_timezone()) or "—"


def field_errors(field: BoundField) -> str:
    """A form field's errors under it (Bootstrap's invalid-feedback), escaped."""
    return format_html_join(
        "", '<div class="invalid-feedback d-block">{}</div>', ((e,) for e in field.errors)
    )


def management_form(formset) -> str:
    """The formset's four counters as hidden inputs, the values Django's management_form holds,
    without rendering a form through the widget templates."""
    form = formset.management_form
    names = ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS")
    counters = [form[name] for name in names]
    return format_html_join(
        "",
        '<input type="hidden" name="{}" value="{}" id="{}">',
        ((f.html_name, "" if (v := f.value()) is None else v, f.auto_id) for f in counters),
    )


def agent_label(agent_id: str) -> people.AgentLabel:
    return people.agent_label(agent_id or "")


def _people_choices(user, bot_ids) -> list[tuple[str, str]]:
    """(agent id, name) of the people of the bots `bot_ids`, for a choice of person."""
    single_bot = visibility(user).installation_bots == 1
    return [
        (person.agent_id, person.name)
        for person in people.people_of_bots(bot_ids, single_bot=single_bot)
    ]


def assign_control(request: HttpRequest, lead: Lead, bot_suffix: str = "") -> dict:
    """What the detail page's Assign control offers this person for `lead`: the people of its
    bot when they may assign anyone (lead admins, or the setting), else "Assign to me" and
    "Unassign me" on their own lead."""
    user = request.user
    me = people.person_of(user)
    others = services.may_assign_others(user)
    choices = []
    if others:
        choices = _people_choices(user, [lead.bot_id])
        if lead.agent_id and lead.agent_id not in {value for value, _ in choices}:
            # Held by an id of no one on this team: kept as the current choice.
            choices.insert(0, (lead.agent_id, people.agent_label(lead.agent_id).text))
    current = people.agent_label(lead.agent_id)
    mine = me is not None and lead.agent_id == me.agent_id
    return {
        "url": reverse("leads:assign", args=[lead.uuid]) + bot_suffix,
        "current": current,
        "mine": mine,
        "linked": me is not None,
        "choose": others,
        "choices": choices,
        # An agent may take a free lead; a lead admin any lead.
        "take": not mine and (others or not lead.agent_id),
        "profile_url": reverse("leads:profile"),
    }


def agent_filter(request: HttpRequest, value: str = "", assignable: bool = False) -> dict:
    """The list's agent filter: "Me", "Unassigned" and the people of the bots in scope (the bot
    chosen, else every bot the person sees); a raw id of an old link stays chosen. With
    `assignable`, the bulk "Assign to…" choice: the people only for those who may assign
    anyone."""
    user = request.user
    choices = [(people.ME, "Me"), (people.NOBODY, "Unassigned")]
    if not assignable or services.may_assign_others(user):
        chosen = current_bot(request)
        choices += _people_choices(user, [chosen] if chosen is not None else visibility(user).ids)
    value = value or ""
    if value and value not in {v for v, _ in choices}:
        choices.append((value, people.agent_label(value).text))
    return {"value": value, "choices": choices}


def lead_macros(lead: Lead) -> list[Macro]:
    """The macros offered on `lead`'s page: every bot's and its bot's."""
    return macros.macros_for_bots([lead.bot_id])


def list_macros(request: HttpRequest | None, chosen_bot: int | None) -> list[Macro]:
    """The macros the list's bulk bar offers: every bot's, and the bot's the list is scoped to
    (or the person's only bot)."""
    if request is None:
        return []
    bots = visibility(request.user).ids
    return macros.macros_for_bots([chosen_bot] if chosen_bot else bots if len(bots) == 1 else [])


def undo_offer(request: HttpRequest | None) -> dict | None:
    """The undo waiting to be offered to this person (taken: shown once), or None."""
    return take_offer(request) if request is not None else None
