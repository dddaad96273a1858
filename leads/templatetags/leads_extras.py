from django import template

from leads import tables

register = template.Library()


@register.simple_tag
def status_badge(lead):
    return tables.status_badge(lead)


@register.simple_tag
def change_badge(lead):
    return tables.change_badge(lead)


@register.filter
def in_minutes(delta) -> str:
    """A timedelta as "15 minutes" (the lockout page)."""
    try:
        minutes = max(1, round(delta.total_seconds() / 60))
    except AttributeError:
        return "a few minutes"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
