"""People in the Django templates: the agent filter's choices (the board's; the list's is the
Jinja2 page's, from the same helper). `{% load people %}`."""

from django import template

from leads.web import template_helpers

register = template.Library()


@register.simple_tag(takes_context=True)
def agent_filter(context, value: str = "", assignable: bool = False) -> dict:
    """The agent filter: "Me", "Unassigned" and the people of the bots in scope (the bot chosen,
    else every bot the person sees); a raw id of an old link stays chosen. With `assignable`,
    the bulk "Assign to…" choice (leads.web.template_helpers.agent_filter)."""
    return template_helpers.agent_filter(context["request"], value, assignable)
