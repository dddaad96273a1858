from django import template

from leads import tables

register = template.Library()


@register.simple_tag
def status_badge(lead):
    return tables.status_badge(lead)


@register.simple_tag
def change_badge(lead):
    return tables.change_badge(lead)
