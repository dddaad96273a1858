"""Request hooks for the session: idle expiry, one-time passwords and htmx after a logout."""

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from leads.signals import MUST_CHANGE_PASSWORD, TOUCH_KEY

# Requests the page makes by itself (polling badges): they are not a person being active.
BACKGROUND_URL_NAMES = {"leads:change-counts", "leads:sync-status", "leads:healthz"}


class SessionIdleTimeoutMiddleware:
    """A session ends after SESSION_COOKIE_AGE seconds without activity.

    Saving the session on every request (SESSION_SAVE_EVERY_REQUEST) would write the session row
    on every page and poll; instead its expiry is pushed forward at most once a minute, and only
    for requests a person made (not the badges' polling), so an idle open tab still expires.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        match = request.resolver_match
        if match is not None and match.view_name in BACKGROUND_URL_NAMES:
            return None
        now = int(time.time())
        interval = min(60, max(1, settings.SESSION_COOKIE_AGE // 10))
        if now - int(request.session.get(TOUCH_KEY, 0)) >= interval:
            request.session[TOUCH_KEY] = now  # marks the session modified: saved, expiry renewed
        return None


class PasswordChangeRequiredMiddleware:
    """Someone who logged in with a one-time password chooses their own before anything else."""

    ALLOWED = {"password_change", "password_change_done", "logout", "leads:healthz"}

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        session = getattr(request, "session", None)
        if session is None or not session.get(MUST_CHANGE_PASSWORD):
            return None
        match = request.resolver_match
        if match is not None and match.view_name in self.ALLOWED:
            return None
        if not request.user.is_authenticated:
            return None
        if getattr(request, "htmx", False):
            # The password page's own badges poll: answer with nothing rather than reload it.
            return HttpResponse(status=204)
        messages.info(request, "Choose your own password to replace the one-time password.")
        return redirect("password_change")


class HtmxLoginRedirectMiddleware:
    """An htmx request whose session ended would swap the login page into a badge or a table
    row; send the whole browser to the login page instead (back to the page afterwards)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            getattr(request, "htmx", False)
            and response.status_code == 302
            and response.get("Location", "").startswith(reverse(settings.LOGIN_URL))
        ):
            current = request.htmx.current_url_abs_path or "/"
            login = f"{reverse(settings.LOGIN_URL)}?{urlencode({'next': current})}"
            return HttpResponse(status=200, headers={"HX-Redirect": login})
        return response
