"""The triage workspace's tags: the undo on offer and the macros a page offers."""

from django import template

from leads.selectors import macros
from leads.selectors.bots import visibility
from leads.web.views.undo import take_offer

register = template.Library()


@register.simple_tag(takes_context=True)
def undo_offer(context):
    """The undo waiting to be offered to this person (taken: shown once), or None."""
    request = context.get("request")
    return take_offer(request) if request is not None else None


@register.simple_tag
def lead_macros(lead):
    """The macros offered on `lead`'s page: every bot's and its bot's."""
    return macros.macros_for_bots([lead.bot_id])


@register.simple_tag(takes_context=True)
def list_macros(context):
    """The macros the list's bulk bar offers: every bot's, and the bot's the list is scoped to
    (or the person's only bot)."""
    request = context.get("request")
    if request is None:
        return []
    bots = visibility(request.user).ids
    chosen = context.get("chosen_bot")
    return macros.macros_for_bots([chosen] if chosen else bots if len(bots) == 1 else [])


@register.filter
def macro_summary(macro) -> str:
    return macros.macro_summary(macro)
