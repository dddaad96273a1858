"""`python manage.py createagent USERNAME [--admin] [--bot NAME ...] [--agent-id ID]`: a login
with a role and a one-time password, membership of the bots named, and the BotPenguin agent id
their leads are assigned to.

The password is printed once and must be changed at the first sign-in. Running it again for an
existing user gives them the role and a new one-time password (a reset); bots named are added to
the ones they already belong to. With --agent-id an existing user is linked to that id and keeps
their password and role (unless --reset-password or --admin says otherwise)."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from leads import services
from leads.accounts.permissions import AGENT, LEAD_ADMIN
from leads.bots.config import ensure_environment_bot
from leads.models import AgentProfile, Bot, PasswordChangeRequired


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
        parser.add_argument(
            "--agent-id",
            default=None,
            metavar="ID",
            help='their BotPenguin agent id (leads are assigned to it); "" unlinks them',
        )
        parser.add_argument(
            "--reset-password",
            action="store_true",
            help="with --agent-id for an existing user: also give a new one-time password",
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
        agent_id = options["agent_id"]
        existing = User.objects.filter(username=username).first()
        # Linking someone who already signs in changes nothing else, unless asked.
        link_only = existing is not None and agent_id is not None
        reset = not link_only or options["reset_password"]
        password = secrets.token_urlsafe(12)
        with transaction.atomic():
            user, created = User.objects.get_or_create(username=username)
            if email:
                user.email = email
            if name:
                user.first_name = name
            user.is_active = True
            if not link_only or admin:
                # Lead admins use the Django admin for leads too; agents never see it.
                user.is_staff = admin or user.is_superuser
                user.groups.remove(*Group.objects.filter(name__in=[AGENT, LEAD_ADMIN]))
                user.groups.add(group)
            if reset:
                user.set_password(password)
                PasswordChangeRequired.objects.get_or_create(user=user)
            user.save()
            user.bots.add(*members_of)
            if agent_id is not None:
                try:
                    services.agent_link(user=user, agent_id=agent_id)
                except services.ProfileRefused as e:
                    raise CommandError(e.message) from e
        if link_only and not admin:
            self.stdout.write(f"Updated {username!r} (password and role unchanged).")
        else:
            verb = "Created" if created else "Reset"
            self.stdout.write(f"{verb} {role.lower()} {username!r}.")
        self._report(user, link_only=link_only, members_of=members_of)
        if reset:
            self.stdout.write(f"One-time password: {password}")
            self.stdout.write("It must be changed at the first sign-in.")

    def _report(self, user, *, link_only: bool, members_of: list[Bot]) -> None:
        if members_of:
            names = ", ".join(bot.name for bot in members_of)
            self.stdout.write(f"Member of: {names}.")
        profile = AgentProfile.objects.filter(user=user).first()
        if profile is not None and profile.agent_id:
            self.stdout.write(f"Linked to BotPenguin agent id {profile.agent_id}.")
        elif link_only:
            self.stdout.write("Not linked to any BotPenguin agent id.")

    def _bots(self, names: list[str]) -> list[Bot]:
        """The bots named, or CommandError naming the unknown ones and the known ones."""
        ensure_environment_bot()  # so that its name is known before a first sync
        found = {bot.name: bot for bot in Bot.objects.filter(name__in=names)}
        unknown = [name for name in names if name not in found]
        if unknown:
            known = ", ".join(Bot.objects.values_list("name", flat=True)) or "none yet (addbot)"
            raise CommandError(f"Unknown bot {', '.join(map(repr, unknown))}. Bots: {known}.")
        return [found[name] for name in dict.fromkeys(names)]
