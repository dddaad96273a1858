"""{% frame "nav" %}: a part of every page's frame (the head's assets, the navigation, the
messages, the undo toast) in a Django template, made by the Jinja2 template the Jinja2 pages include
(templates/jinja2/frame/<part>.html): one copy of the frame for both engines."""

from django import template
from django.template import engines
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag(takes_context=True)
def frame(context, part: str) -> str:
    jinja = engines["jinja2"].env.get_template(f"frame/{part}.html")
    return mark_safe(jinja.render(context.flatten()))  # noqa: S308 -- the autoescaping Jinja2's
