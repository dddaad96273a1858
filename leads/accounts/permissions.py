"""Who may do what: the two roles and every check, in one place.

Roles are Django groups made by migration 0004 (and kept in line by `ensure_roles`): an *Agent*
views leads and triages them (status, notes, tags, bulk actions); a *Lead admin* can also edit
contact fields, picture, agent and attributes, start a sync, retry or discard refused edits, see
the raw JSON and use the Django admin for leads. Superusers can do everything.

Every view, htmx endpoint, export and service checks these on the server; templates only use them
to hide what a person could not do anyway.
"""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import Http404

from leads.selectors.bots import visibility

AGENT = "Agent"
LEAD_ADMIN = "Lead admin"

VIEW = "leads.view_lead"
VIEW_CHANGES = "leads.view_leadchange"
TRIAGE = "leads.triage_lead"
EDIT_CONTACT = "leads.edit_lead_contact"
VIEW_RAW = "leads.view_lead_raw"
SYNC = "leads.sync_leads"
RESOLVE = "leads.resolve_lead_changes"

# Group name -> "app_label.codename" of every permission it holds.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    AGENT: (VIEW, VIEW_CHANGES, TRIAGE),
    LEAD_ADMIN: (
        VIEW,
        VIEW_CHANGES,
        TRIAGE,
        EDIT_CONTACT,
        VIEW_RAW,
        SYNC,
        RESOLVE,
        "leads.change_lead",  # the Django admin's lead form (it saves through the services)
        "leads.view_syncrun",
        # The settings of the bots they see, never the token's value (leads.admin.BotAdmin).
        "leads.view_bot",
        "leads.change_bot",
        # The overdue thresholds per status (leads.admin.OverdueRuleAdmin).
        "leads.view_overduerule",
        "leads.add_overduerule",
        "leads.change_overduerule",
        "leads.delete_overduerule",
        # Triage macros of the bots they see (leads.macro_admin).
        "leads.view_macro",
        "leads.add_macro",
        "leads.change_macro",
        "leads.delete_macro",
    ),
}

# What a person is told when a check fails (the 403 page shows it).
DENIED = {
    VIEW: "You need the Agent or Lead admin role to see leads.",
    VIEW_CHANGES: "You need the Agent or Lead admin role to see the change log.",
    TRIAGE: "You need the Agent or Lead admin role to change leads.",
    EDIT_CONTACT: "Only lead admins may edit contact details.",
    VIEW_RAW: "Only lead admins may see the raw JSON.",
    SYNC: "Only lead admins may start a sync.",
    RESOLVE: "Only lead admins may retry or discard refused edits.",
}


def has(user, perm: str) -> bool:
    return bool(
        user is not None and user.is_authenticated and user.is_active and user.has_perm(perm)
    )


def require(user, perm: str) -> None:
    """Raise PermissionDenied (403) unless `user` holds `perm`."""
    if not has(user, perm):
        raise PermissionDenied(DENIED.get(perm, "You may not do that."))


def can_edit_contact(user) -> bool:
    """Contact fields, picture, agent and attributes."""
    return has(user, EDIT_CONTACT)


def can_view_raw(user) -> bool:
    return has(user, VIEW_RAW)


def can_resolve_changes(user) -> bool:
    """Retry or discard edits BotPenguin refused."""
    return has(user, RESOLVE)


def ensure_roles(group_model, permission_model) -> None:
    """Create the two groups and give them exactly their permissions (idempotent). A permission
    of a model a migration has not made yet (migration 0004 runs this before the Bot exists) is
    left to the post_migrate run that follows every migrate."""
    for name, perms in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=name)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.extend(
                permission_model.objects.filter(
                    content_type__app_label=app_label, codename=codename
                )
            )
        group.permissions.set(wanted)


def permission_required(perm: str):
    """View decorator: 403 with a clear sentence unless the user holds `perm` (anonymous users
    never get here: LoginRequiredMiddleware sends them to the login page first)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            require(request.user, perm)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class PermissionRequiredMixin:
    """The class-based views' form of `permission_required`."""

    permission: str = VIEW

    def dispatch(self, request, *args, **kwargs):
        require(request.user, self.permission)
        return super().dispatch(request, *args, **kwargs)


def require_visible(user, bot_id: int) -> None:
    """Services given a person: a lead of a bot they do not see does not exist for them (404,
    never a 403 that would confirm it exists). The system itself (`user=None`) sees every bot."""
    if user is not None and not visibility(user).sees(bot_id):
        raise Http404("No such lead.")


def require_service(user, perm: str) -> None:
    """Services take `user=None` for the system itself (sync, delivery, commands); a person
    (including an anonymous one) must hold `perm`."""
    if user is None:
        return
    require(user, perm)
