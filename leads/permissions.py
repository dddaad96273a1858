"""Who may do what. One place, so the roles that come later change it here only."""


def can_edit_contact(user) -> bool:
    """Contact fields, picture, agent and attributes (lead admins; staff for now)."""
    return bool(user and user.is_authenticated and user.is_staff)


def can_resolve_changes(user) -> bool:
    """Retry or discard edits BotPenguin refused (lead admins; staff for now)."""
    return can_edit_contact(user)
