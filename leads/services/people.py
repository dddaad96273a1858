"""A person's profile: their name, time zone and the BotPenguin agent id they are linked to.

Linking is one person per agent id (AgentProfile's constraint): an id already linked to someone
else is refused with their name, whoever asks (the person on their profile page, a superuser in
the admin, `createagent --agent-id`).
"""

from __future__ import annotations

import zoneinfo
from functools import cache

from django.db import IntegrityError, transaction

from leads.models import AgentProfile
from leads.selectors import people

AGENT_ID_MAX = 255


class ProfileRefused(ValueError):
    """A profile value that cannot be saved; `field` is the form field it belongs to."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.message = message
        self.field = field


@cache
def time_zones() -> tuple[str, ...]:
    """The IANA time zone names this machine knows, sorted."""
    return tuple(sorted(zoneinfo.available_timezones()))


def check_time_zone(value: str) -> str:
    value = (value or "").strip()
    if value and value not in time_zones():
        raise ProfileRefused(
            f'"{value}" is not an IANA time zone name (e.g. Asia/Kolkata).', field="time_zone"
        )
    return value


def holder_of(agent_id: str, *, other_than) -> str | None:
    """The name of the user other than `other_than` (None: a user not saved yet) linked to
    `agent_id`, or None."""
    if not agent_id:
        return None
    profiles = AgentProfile.objects.filter(agent_id=agent_id).select_related("user")
    if other_than is not None and other_than.pk is not None:
        profiles = profiles.exclude(user_id=other_than.pk)
    profile = profiles.first()
    if profile is None:
        return None
    user = profile.user
    return people.display_name(user.first_name, user.last_name, user.get_username())


def check_agent_id(value: str, *, user) -> str:
    value = (value or "").strip()
    if len(value) > AGENT_ID_MAX:
        raise ProfileRefused(f"An agent id is at most {AGENT_ID_MAX} characters.", field="agent_id")
    if value and any(c.isspace() for c in value):
        raise ProfileRefused("An agent id has no spaces.", field="agent_id")
    if value in (people.ME, people.NOBODY):
        raise ProfileRefused(f'"{value}" cannot be an agent id.', field="agent_id")
    holder = holder_of(value, other_than=user)
    if holder is not None:
        raise ProfileRefused(
            f"The agent id {value} is already linked to {holder}.", field="agent_id"
        )
    return value


def profile_of(user) -> AgentProfile:
    """The user's profile (an empty one, unsaved, when they have none yet)."""
    try:
        return user.agent_profile
    except AgentProfile.DoesNotExist:
        return AgentProfile(user=user)


def _save(profile: AgentProfile, agent_id: str) -> AgentProfile:
    try:
        with transaction.atomic():
            profile.save()
    except IntegrityError as e:
        # Taken between the check and the save.
        holder = holder_of(agent_id, other_than=profile.user) or "someone else"
        raise ProfileRefused(
            f"The agent id {agent_id} is already linked to {holder}.", field="agent_id"
        ) from e
    return profile


def agent_link(*, user, agent_id: str) -> AgentProfile:
    """Link `user` to `agent_id` ("" unlinks them); ProfileRefused when it is someone else's."""
    agent_id = check_agent_id(agent_id, user=user)
    profile = profile_of(user)
    profile.agent_id = agent_id
    return _save(profile, agent_id)


def profile_update(
    *, user, first_name: str, last_name: str, time_zone: str, agent_id: str
) -> AgentProfile:
    """A person's own profile page: every value checked first, then saved together."""
    time_zone = check_time_zone(time_zone)
    agent_id = check_agent_id(agent_id, user=user)
    with transaction.atomic():
        user.first_name = first_name.strip()[:150]
        user.last_name = last_name.strip()[:150]
        user.save(update_fields=["first_name", "last_name"])
        profile = profile_of(user)
        profile.agent_id = agent_id
        profile.time_zone = time_zone
        return _save(profile, agent_id)
