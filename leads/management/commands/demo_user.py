"""Create (or reset) the demo logins that `make run` prints. For local demos only."""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from leads.accounts.permissions import AGENT


class Command(BaseCommand):
    help = (
        "Create the demo superuser 'demo' and the demo agent 'agent' and print their logins "
        "(passwords kept in var/)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--agent-username", default="agent")

    def handle(self, *args, **options):
        secret_file = Path(settings.BASE_DIR) / "var" / "demo-password"
        secret_file.parent.mkdir(exist_ok=True)
        if secret_file.exists():
            password = secret_file.read_text().strip()
        else:
            password = secrets.token_urlsafe(9)
            secret_file.write_text(password + "\n")
            secret_file.chmod(0o600)
        User = get_user_model()
        user, _ = User.objects.get_or_create(username=options["username"])
        user.is_staff = True
        user.is_superuser = True
        user.first_name = user.first_name or "Demo"
        user.set_password(password)
        user.save()
        agent, _ = User.objects.get_or_create(username=options["agent_username"])
        agent.first_name = agent.first_name or "Demo agent"
        agent.set_password(password)
        agent.save()
        agent.groups.add(*Group.objects.filter(name=AGENT))
        self.stdout.write(f"Demo login: {user.username} / {password}  (can do everything)")
        self.stdout.write(f"Demo agent: {agent.username} / {password}  (the Agent role)")
