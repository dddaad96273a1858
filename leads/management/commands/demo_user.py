"""Create (or reset) the demo logins that `make run` prints. For local demos only.

With several bots it also makes one team per bot (an agent who sees that bot only) and a lead
admin who sees them all, and prints which login sees which."""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.utils.text import slugify

from leads.accounts.permissions import AGENT, LEAD_ADMIN
from leads.botpenguin.sandbox.seed import AGENTS
from leads.bots.config import ensure_environment_bot
from leads.models import Bot
from leads.services.people import agent_link


class Command(BaseCommand):
    help = (
        "Create the demo superuser 'demo' and the demo agent 'agent' (and, with several bots, "
        "a team per bot) and print their logins (passwords kept in var/)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--agent-username", default="agent")
        parser.add_argument("--admin-username", default="leadadmin")

    def handle(self, *args, **options):
        password = self._password()
        ensure_environment_bot()
        bots = list(Bot.objects.filter(active=True).order_by("name"))
        user = self._login(options["username"], password, "Demo")
        user.is_staff = True
        user.is_superuser = True
        user.save()
        agent = self._login(options["agent_username"], password, "Demo agent", role=AGENT)
        agent.bots.add(*bots)
        # The demo people are the agents the sandbox's chats are assigned to, so their names
        # show in place of the ids and "Assign to me" works at once.
        agent_link(user=agent, agent_id=AGENTS[0])
        names = " and ".join(bot.name for bot in bots) or "every bot"
        self.stdout.write(f"Demo login: {user.username} / {password}  (can do everything)")
        self.stdout.write(f"Demo agent: {agent.username} / {password}  (the Agent role; {names})")
        if len(bots) < 2:
            return
        admin = self._login(options["admin_username"], password, "Lead admin", role=LEAD_ADMIN)
        admin.is_staff = True
        admin.save()
        admin.bots.add(*bots)
        agent_link(user=admin, agent_id=AGENTS[1])
        self.stdout.write("Teams (each login sees only its bots' leads):")
        spare = iter(AGENTS[2:])
        for bot in bots:
            member = self._login(f"agent-{slugify(bot.name)}", password, bot.name, role=AGENT)
            member.bots.add(bot)
            if agent_id := next(spare, ""):
                agent_link(user=member, agent_id=agent_id)
            self.stdout.write(f"  {member.username} / {password}  (Agent; sees {bot.name} only)")
        self.stdout.write(f"  {admin.username} / {password}  (Lead admin; sees {names})")

    def _password(self) -> str:
        secret_file = Path(settings.BASE_DIR) / "var" / "demo-password"
        secret_file.parent.mkdir(exist_ok=True)
        if secret_file.exists():
            return secret_file.read_text().strip()
        password = secrets.token_urlsafe(9)
        secret_file.write_text(password + "\n")
        secret_file.chmod(0o600)
        return password

    def _login(self, username: str, password: str, first_name: str, *, role: str | None = None):
        User = get_user_model()
        person, _ = User.objects.get_or_create(username=username)
        person.first_name = person.first_name or first_name
        person.set_password(password)
        person.save()
        if role is not None:
            person.groups.add(*Group.objects.filter(name=role))
        return person
