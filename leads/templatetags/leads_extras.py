"""The Django templates' moments and form errors (the Jinja2 pages call the same helpers,
leads.web.template_helpers); the lockout page's minutes."""

from django import template

from leads.web import template_helpers

register = template.Library()


@register.simple_tag
def moment(value) -> str:
    """{% moment lead.remote_updated_at %}: "3 h ago", the exact time in the person's time zone
    in the tooltip (display.moment); a dash for no moment."""
    return template_helpers.moment(value)


@register.filter
def in_minutes(delta) -> str:
    """A timedelta as "15 minutes" (the lockout page)."""
    try:
        minutes = max(1, round(delta.total_seconds() / 60))
    except AttributeError:
        return "a few minutes"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@register.filter
def field_errors(field) -> str:
    """A form field's errors under it (Bootstrap's invalid-feedback), escaped: one tag rather
    than an {% include %} for each field."""
    return template_helpers.field_errors(field)
