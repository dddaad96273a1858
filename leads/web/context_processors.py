"""Values every page's frame shows (navigation, last sync)."""

import functools

from django.http import HttpRequest
from django.templatetags.static import static
from django.urls import get_script_prefix, reverse
from django.utils.functional import SimpleLazyObject

from leads.selectors import overview as selectors

# The frame's links and assets, by name (url names for reverse(), paths for static()).
FRAME_URLS = {
    "home": "leads:home",
    "list": "leads:list",
    "activity": "leads:activity",
    "change_counts": "leads:change-counts",
    "admin": "admin:index",
    "password_change": "password_change",
    "logout": "logout",
    "sync_status": "leads:sync-status",
    "sync_now": "leads:sync-now",
    "tag_options": "leads:tag-options",
    "bulk": "leads:bulk",
}
FRAME_ASSETS = {
    "favicon": "favicon.svg",
    "bootstrap_css": "vendor/bootstrap/bootstrap.min.css",
    "app_css": "css/app.css",
    "bootstrap_js": "vendor/bootstrap/bootstrap.bundle.min.js",
    "htmx_js": "vendor/htmx/htmx.min.js",
    "app_js": "js/app.js",
    "list_js": "js/list.js",
}


@functools.cache
def _resolved(script_prefix: str) -> tuple[dict, dict]:
    """FRAME_URLS and FRAME_ASSETS resolved once per process (and URL prefix) rather than by a
    {% url %} or {% static %} tag on every page: they never change while it runs."""
    return (
        {name: reverse(url_name) for name, url_name in FRAME_URLS.items()},
        {name: static(path) for name, path in FRAME_ASSETS.items()},
    )


def frame(request: HttpRequest) -> dict:
    """The frame's links and assets; for a signed-in person also the last sync, read when a
    template shows it. It is cached for a few seconds (selectors.overview.frame_last_sync), so
    the frame costs at most one query per request even when a page renders several templates."""
    urls, assets = _resolved(get_script_prefix())
    values = {"frame_assets": assets}
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return values
    values.update(frame_urls=urls, frame_last_sync=SimpleLazyObject(selectors.frame_last_sync))
    return values
