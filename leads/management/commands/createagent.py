"""`python manage.py createagent USERNAME [--admin] [--bot NAME ...]`: a login with a role and a
one-time password, and membership of the bots named.

The password is printed once and must be changed at the first sign-in. Running it again for an
existing user gives them the role and a new one-time password (a reset); bots named are added to
the ones they already belong to."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from leads.accounts.permissions import AGENT, LEAD_ADMIN
from leads.bots.config import ensure_environment_bot
from leads.models import Bot, PasswordChangeRequired


class Command(BaseCommand):
    help = "Create an agent (or, with --admin, a lead admin) and print a one-time password."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--admin", action="store_true", help='the "Lead admin" role')
        parser.add_argument("--email", default="")
        parser.add_argument("--name", default="", help="first name shown in the navigation")
        parser.add_argument(
            "--bot",
            action="append",
            default=[],
            dest="bots",
            metavar="NAME",
            help="a bot whose leads they work on (repeat for several)",
        )

    def handle(self, *args, username: str, admin: bool, email: str, name: str, bots, **options):
        User = get_user_model()
        try:
            User.username_validator(username)
        except ValidationError as e:
            raise CommandError(f"Invalid username {username!r}: {' '.join(e.messages)}") from e
        role = LEAD_ADMIN if admin else AGENT
        try:
            group = Group.objects.get(name=role)
        except Group.DoesNotExist as e:
            raise CommandError(f'The role "{role}" is missing: run `manage.py migrate`.') from e
        members_of = self._bots(bots)
        password = secrets.token_urlsafe(12)
        with transaction.atomic():
            user, created = User.objects.get_or_create(username=username)
            if email:
                user.email = email
            if name:
                user.first_name = name
            user.is_active = True
            # Lead admins use the Django admin for leads too; agents never see it.
            user.is_staff = admin or user.is_superuser
            user.set_password(password)
            user.save()
            user.groups.remove(*Group.objects.filter(name__in=[AGENT, LEAD_ADMIN]))
            user.groups.add(group)
            PasswordChangeRequired.objects.get_or_create(user=user)
            user.bots.add(*members_of)
        verb = "Created" if created else "Reset"
        self.stdout.write(f"{verb} {role.lower()} {username!r}.")
        if members_of:
            names = ", ".join(bot.name for bot in members_of)
            self.stdout.write(f"Member of: {names}.")
        self.stdout.write(f"One-time password: {password}")
        self.stdout.write("It must be changed at the first sign-in.")

    def _bots(self, names: list[str]) -> list[Bot]:
        """The bots named, or CommandError naming the unknown ones and the known ones."""
        ensure_environment_bot()  # so that its name is known before a first sync
        found = {bot.name: bot for bot in Bot.objects.filter(name__in=names)}
        unknown = [name for name in names if name not in found]
        if unknown:
            known = ", ".join(Bot.objects.values_list("name", flat=True)) or "none yet (addbot)"
            raise CommandError(f"Unknown bot {', '.join(map(repr, unknown))}. Bots: {known}.")
        return [found[name] for name in dict.fromkeys(names)]
