from django import template
from django.utils.html import format_html_join
from django.utils.timezone import get_current_timezone, now

from leads.web import display

register = template.Library()


@register.simple_tag
def status_badge(lead):
    return display.status_badge(lead.status)


@register.simple_tag
def change_badge(lead):
    return display.change_badge(lead.change_state)


@register.simple_tag
def moment(value) -> str:
    """{% moment lead.remote_updated_at %}: "3 h ago", the exact time in the person's time zone
    in the tooltip (display.moment); nothing for no moment."""
    return display.moment(value, now(), get_current_timezone()) or "—"


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
    than an {% include %} for each of the detail page's dozen fields."""
    return format_html_join(
        "", '<div class="invalid-feedback d-block">{}</div>', ((e,) for e in field.errors)
    )


@register.simple_tag
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
