"""Values every page's frame shows (navigation, last sync)."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from leads import selectors


def frame(request: HttpRequest) -> dict:
    """Lazy, and cached on the request: templates rendered inside a page (the table) run the
    context processors again, and the frame must cost at most one query per request (none while the last sync is cached)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    if not hasattr(request, "_frame_last_sync"):
        request._frame_last_sync = SimpleLazyObject(selectors.frame_last_sync)
    return {"frame_last_sync": request._frame_last_sync}
