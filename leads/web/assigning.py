"""What the assign views and the list's bulk "Assign to…" share: a choice of whom ("me", "none"
or an agent id) as an agent id, and a refusal as the page shows it."""

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from leads import services
from leads.selectors import people


def refusal_text(message: str) -> str | SafeString:
    """The refusal as the page shows it: LINK_FIRST with a link to the profile page."""
    if message == services.LINK_FIRST:
        return format_html(
            '{} <a href="{}" class="alert-link">Open your profile</a>',
            message,
            reverse("leads:profile"),
        )
    return message


def not_linked_text() -> SafeString:
    """Why "My leads" (`?agent=me`) lists nothing for a person linked to no agent id."""
    return format_html(
        '{} {} <a href="{}" class="alert-link">Open your profile</a>',
        "No lead is yours: you are not linked to a BotPenguin agent id.",
        services.LINK_FIRST,
        reverse("leads:profile"),
    )


def chosen_agent_id(choice: str, user) -> str:
    """The agent id a choice names: "me" the person's own (AssignmentRefused(LINK_FIRST) when
    they have none), "none" or "" nobody, anything else an agent id."""
    choice = (choice or "").strip()
    if choice == people.ME:
        return services.my_agent_id(user)
    return "" if choice == people.NOBODY else choice
