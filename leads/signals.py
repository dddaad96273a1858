"""Login hook: the session's idle clock starts; a user holding a one-time password (from `createagent`) must change it first."""

import time

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from leads.models import PasswordChangeRequired

MUST_CHANGE_PASSWORD = "must_change_password"
TOUCH_KEY = "_touched"  # when the session's idle expiry was last renewed (leads.middleware)


@receiver(user_logged_in, dispatch_uid="leads.flag_one_time_password")
def flag_one_time_password(sender, request, user, **kwargs) -> None:
    if request is None or not hasattr(request, "session"):
        return
    request.session[TOUCH_KEY] = int(time.time())  # the login itself saves the session
    if PasswordChangeRequired.objects.filter(user=user).exists():
        request.session[MUST_CHANGE_PASSWORD] = True
