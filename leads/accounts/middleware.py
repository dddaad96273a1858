"""Request hooks: the session's (idle expiry, one-time passwords, htmx after a logout) and the
person's time zone.

One class for the session's three rather than three: every middleware is another frame around
every request, and the three only read the session and the resolved view."""

import time
import zoneinfo
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from leads.models import AgentProfile

# Session keys. Set at sign-in (leads.accounts.signals) for someone holding a one-time password
# from `createagent`, removed when they choose their own (leads.accounts.views).
ONE_TIME_SIGN_IN = "must_change_password"
# When the session's idle expiry was last renewed (a Unix time).
TOUCH_KEY = "_touched"
# Requests the page makes by itself (polling badges): they are not a person being active.
BACKGROUND_URL_NAMES = {"leads:change-counts", "leads:sync-status", "leads:healthz"}
# What someone who still holds a one-time password may reach.
ONE_TIME_PASSWORD_ALLOWED = {"password_change", "password_change_done", "logout", "leads:healthz"}


class SessionMiddleware:
    """* A session ends after SESSION_COOKIE_AGE seconds without activity. Saving the session on
      every request (SESSION_SAVE_EVERY_REQUEST) would write the session row on every page and
      poll; instead its expiry is pushed forward at most once a minute, and only for requests a
      person made (not the badges' polling), so an idle open tab still expires.
    * Someone who signed in with a one-time password (createagent) chooses their own first.
    * An htmx request whose session ended would swap the login page into a badge or a table row;
      the whole browser goes to the login page instead (and back to the page afterwards).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code == 302
            and getattr(request, "htmx", False)
            and response.get("Location", "").startswith(reverse(settings.LOGIN_URL))
        ):
            current = request.htmx.current_url_abs_path or "/"
            login = f"{reverse(settings.LOGIN_URL)}?{urlencode({'next': current})}"
            return HttpResponse(status=200, headers={"HX-Redirect": login})
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        match = request.resolver_match
        view_name = match.view_name if match is not None else ""
        if request.session.get(ONE_TIME_SIGN_IN) and view_name not in ONE_TIME_PASSWORD_ALLOWED:
            if getattr(request, "htmx", False):
                # The password page's own badges poll: answer with nothing rather than reload it.
                return HttpResponse(status=204)
            messages.info(request, "Choose your own password to replace the one-time password.")
            return redirect("password_change")
        if view_name not in BACKGROUND_URL_NAMES:
            now = int(time.time())
            interval = min(60, max(1, settings.SESSION_COOKIE_AGE // 10))
            if now - int(request.session.get(TOUCH_KEY, 0)) >= interval:
                request.session[TOUCH_KEY] = now  # the session is saved: its expiry renewed
        return None


# A person's time zone (AgentProfile.time_zone), cached by user id; "" for the server's.
TIME_ZONE_KEY = "botpanel:time-zone:{}"
TIME_ZONE_SECONDS = 300


def time_zone_name(user_id: int) -> str:
    """The IANA name the person chose, or "" (cached: most requests read no profile)."""
    key = TIME_ZONE_KEY.format(user_id)
    name = cache.get(key)
    if name is None:
        found = AgentProfile.objects.filter(user_id=user_id).values_list("time_zone", flat=True)
        name = next(iter(found), "") or ""
        cache.set(key, name, TIME_ZONE_SECONDS)
    return name


@receiver(post_save, sender=AgentProfile, dispatch_uid="leads.accounts.time_zone_saved")
@receiver(post_delete, sender=AgentProfile, dispatch_uid="leads.accounts.time_zone_deleted")
def forget_time_zone(sender, instance, **kwargs) -> None:
    cache.delete(TIME_ZONE_KEY.format(instance.user_id))


class TimeZoneMiddleware:
    """Pages show moments in the signed-in person's time zone (their profile's), else in
    settings.TIME_ZONE; an unknown name falls back the same way."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()  # the thread's next request starts from the server's

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        name = time_zone_name(user.pk) if user is not None and user.is_authenticated else ""
        if not name:
            return None
        try:
            timezone.activate(zoneinfo.ZoneInfo(name))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        return None
