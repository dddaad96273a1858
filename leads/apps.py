from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_roles(sender, **kwargs) -> None:
    """Keep the groups "Agent" and "Lead admin" in line with leads.accounts.permissions after
    every migrate (and after a test flush, which empties the auth tables)."""
    from django.contrib.auth.models import Group, Permission

    from leads.accounts.permissions import ensure_roles

    ensure_roles(Group, Permission)


class LeadsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "leads"
    verbose_name = "Leads"

    def ready(self) -> None:
        from leads.accounts import signals  # noqa: F401  (login hooks, the frame's last sync)
        from leads.selectors import people  # noqa: F401  (a changed person: names read anew)

        # After django.contrib.auth's own post_migrate handler has made the permissions.
        post_migrate.connect(_ensure_roles, sender=self, dispatch_uid="leads.ensure_roles")
