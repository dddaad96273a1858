from django import template
from django.utils.html import format_html_join

from leads.web import tables

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


@register.filter
def field_errors(field) -> str:
    """A form field's errors under it (Bootstrap's invalid-feedback), escaped; the detail page
    shows a dozen fields, and an {% include %} per field cost more than the rest of the form."""
    return format_html_join(
        "", '<div class="invalid-feedback d-block">{}</div>', ((e,) for e in field.errors)
    )


@register.simple_tag
def management_form(formset) -> str:
    """The formset's four counters as hidden inputs, the values Django's management_form holds,
    without rendering a form through the widget templates (3 ms of the detail page)."""
    form = formset.management_form
    counters = [form[name] for name in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS",
                                        "MAX_NUM_FORMS")]  # fmt: skip
    return format_html_join(
        "",
        '<input type="hidden" name="{}" value="{}" id="{}">',
        ((f.html_name, "" if (v := f.value()) is None else v, f.auto_id) for f in counters),
    )
