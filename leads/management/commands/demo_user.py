"""Create (or reset) the demo login that `make run` prints. For local demos only."""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the demo superuser 'demo' and print its login (password kept in var/)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")

    def handle(self, *args, **options):
        username = options["username"]
        secret_file = Path(settings.BASE_DIR) / "var" / "demo-password"
        secret_file.parent.mkdir(exist_ok=True)
        if secret_file.exists():
            password = secret_file.read_text().strip()
        else:
            password = secrets.token_urlsafe(9)
            secret_file.write_text(password + "\n")
            secret_file.chmod(0o600)
        User = get_user_model()
        user, _ = User.objects.get_or_create(username=username)
        user.is_staff = True
        user.is_superuser = True
        user.first_name = user.first_name or "Demo"
        user.set_password(password)
        user.save()
        self.stdout.write(f"Demo login: {username} / {password}")
