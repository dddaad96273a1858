"""At sign-in the session's idle clock starts, and a user holding a one-time password (from
`createagent`) must choose their own first. A SyncRun saved: the frame's cached last sync is
dropped. A second bot created: the first bot's team keeps everyone who saw it."""

import time

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save
from django.dispatch import receiver

from leads.accounts.middleware import ONE_TIME_SIGN_IN, TOUCH_KEY
from leads.accounts.teams import keep_first_bot_team
from leads.models import Bot, PasswordChangeRequired, SyncRun
from leads.selectors import overview as selectors


@receiver(user_logged_in, dispatch_uid="leads.flag_one_time_password")
def flag_one_time_password(sender, request, user, **kwargs) -> None:
    if request is None or not hasattr(request, "session"):
        return
    request.session[TOUCH_KEY] = int(time.time())  # the login itself saves the session
    if PasswordChangeRequired.objects.filter(user=user).exists():
        request.session[ONE_TIME_SIGN_IN] = True


@receiver(post_save, sender=SyncRun, dispatch_uid="leads.forget_frame_last_sync")
def forget_frame_last_sync(sender, **kwargs) -> None:
    """A sync started or ended: the frame's cached last sync is out of date (in this process;
    elsewhere it lasts at most selectors.FRAME_SYNC_SECONDS)."""
    selectors.forget_frame_last_sync()


@receiver(post_save, sender=Bot, dispatch_uid="leads.keep_first_bot_team")
def bot_created(sender, instance: Bot, created: bool, raw: bool = False, **kwargs) -> None:
    """While there was one bot everyone with a role saw it; now that there are two, they stay
    members of the first (leads.selectors.bots), so nobody loses access."""
    if created and not raw:
        keep_first_bot_team(instance)
