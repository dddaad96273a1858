"""Bot teams (`Bot.members`, see leads.selectors.bots for the rules): nobody loses access when a
second bot arrives, and whom a person without any bot should ask."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Q

from leads.accounts.permissions import LEAD_ADMIN
from leads.models import Bot
from leads.selectors.bots import ROLE_PERMISSION


def keep_first_bot_team(new_bot: Bot) -> int:
    """When `new_bot` is the installation's second bot, every user who saw the first through the
    single-bot rule (everyone with a role) becomes a member of the first. Returns how many were
    added."""
    others = list(Bot.objects.exclude(pk=new_bot.pk)[:2])
    if len(others) != 1:
        return 0
    first = others[0]
    app_label, codename = ROLE_PERMISSION.split(".")
    permission = Permission.objects.filter(
        content_type__app_label=app_label, codename=codename
    ).first()
    if permission is None:
        return 0
    users = get_user_model().objects.filter(
        Q(groups__permissions=permission) | Q(user_permissions=permission)
    )
    ids = set(users.values_list("pk", flat=True)) - set(first.members.values_list("pk", flat=True))
    first.members.add(*ids)
    return len(ids)


def whom_to_ask() -> list[str]:
    """The names of the people who can give access to a bot: the lead admins and superusers."""
    people = (
        get_user_model()
        .objects.filter(Q(is_superuser=True) | Q(groups__name=LEAD_ADMIN), is_active=True)
        .distinct()
        .order_by("username")
    )
    return [person.get_full_name() or person.get_username() for person in people]
