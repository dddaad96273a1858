"""Values every page's frame shows (navigation, last sync)."""

from django.http import HttpRequest

from leads import selectors


def frame(request: HttpRequest) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"frame_last_sync": selectors.last_sync()}
