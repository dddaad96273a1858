"""{% lead_waiting lead as wait %}: how long a lead has waited and whether it is overdue, for the
detail page (leads.selectors.overdue; the rules are cached)."""

from django import template

from leads.selectors.overdue import Waiting, waiting

register = template.Library()


@register.simple_tag
def lead_waiting(lead) -> Waiting:
    return waiting(lead)
