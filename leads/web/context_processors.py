"""Values every page's frame shows (navigation, last sync)."""

import functools

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.templatetags.static import static
from django.urls import get_script_prefix, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.timezone import get_current_timezone_name

from leads.selectors import overview as selectors
from leads.selectors.bots import lead_counts
from leads.web.scope import ALL_BOTS, current_bot, seen
from leads.web.template_helpers import csrf_field

# The frame's links and assets, by name (url names for reverse(), paths for static()).
FRAME_URLS = {
    "home": "leads:home",
    "list": "leads:list",
    "activity": "leads:activity",
    "change_counts": "leads:change-counts",
    "admin": "admin:index",
    "password_change": "password_change",
    "profile": "leads:profile",
    "logout": "logout",
    "sync_status": "leads:sync-status",
    "sync_now": "leads:sync-now",
    "tag_options": "leads:tag-options",
    "bulk": "leads:bulk",
    "board": "leads:board",
    "insights": "leads:insights",
    "undo": "leads:undo",
    "undo_toast": "leads:undo-toast",
    "saved_views": "leads:saved-views",
    "saved_view_create": "leads:saved-view-create",
}
FRAME_ASSETS = {
    "favicon": "favicon.svg",
    "bootstrap_css": "vendor/bootstrap/bootstrap.min.css",
    "app_css": "css/app.css",
    "bootstrap_js": "vendor/bootstrap/bootstrap.bundle.min.js",
    "htmx_js": "vendor/htmx/htmx.min.js",
    "app_js": "js/app.js",
    "list_js": "js/list.js",
    "assign_js": "js/assign.js",
    # The list's queues panel and new-leads bar (leads.web.views.workspace).
    "workspace_css": "css/workspace.css",
    "workspace_js": "js/workspace.js",
    "undo_js": "js/undo.js",
    "macros_js": "js/macros.js",
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
    # The person's time zone (accounts.middleware), in which app.js writes exact times.
    values = {"frame_assets": assets, "frame_time_zone": get_current_timezone_name()}
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return values
    values.update(
        frame_urls=urls,
        frame_last_sync=SimpleLazyObject(selectors.frame_last_sync),
        frame_bots=SimpleLazyObject(lambda: bot_switcher(request, urls["list"])),
    )
    return values


def bot_switcher(request: HttpRequest, list_url: str) -> dict:
    """The navigation's bot switcher, for a person who sees more than one bot: "All bots" and
    each bot with its lead count, links to the list scoped so (`?bot=`), the current one marked.
    Empty (nothing shown) for one bot or none."""
    visible = seen(request)
    if not visible.several:
        return {}
    counts = lead_counts(visible)
    current = current_bot(request)
    choices = [
        {
            "id": bot.id,
            "name": bot.name,
            "count": counts.get(bot.id, 0),
            "url": f"{list_url}?bot={bot.id}",
            "active": bot.id == current,
        }
        for bot in visible.bots
    ]
    return {
        "choices": choices,
        "all_url": f"{list_url}?bot={ALL_BOTS}",
        "all_count": sum(counts.values()),
        "label": next((c["name"] for c in choices if c["active"]), "All bots"),
        "all_active": current is None,
    }


def csrf_input(request: HttpRequest) -> dict:
    """The Jinja2 pages' CSRF token and hidden input ({{ csrf_input }}), made once per page as
    Django's templates make theirs: the Jinja2 backend's own make a new one each time either is
    written, a dozen times on a lead's page."""
    token = SimpleLazyObject(lambda: get_token(request))
    return {"csrf_token": token, "csrf_input": SimpleLazyObject(lambda: csrf_field(str(token)))}
