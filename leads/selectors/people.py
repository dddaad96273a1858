"""The people of the team: which BotPanel user is linked to which BotPenguin agent id, by name.

A lead carries a BotPenguin agent id (`Lead.agent_id`, the PUT's `agentId`); a person is a user
whose AgentProfile holds that id. Pages show the person's name with the id in a tooltip, and an
id no user is linked to shortened (`AgentLabel`).

The directory of linked people is one query, cached under a version that a change of a profile,
a person's name or a team bumps (`forget_people`, connected to those saves below): at once in
this process, and in the others within CACHE_SECONDS with the per-process cache (at once with a
shared cache), as the list's counts are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.http import QueryDict

from leads.models import AgentProfile, Bot
from leads.selectors import counting

VERSION_KEY = "botpanel:people-version"
CACHE_SECONDS = 60
# A user's fields that make up their name or whether they are a person of the team.
PERSON_FIELDS = frozenset({"first_name", "last_name", "username", "is_active", "is_superuser"})
ME = "me"
NOBODY = "none"


@dataclass(frozen=True)
class Person:
    """A user linked to a BotPenguin agent id."""

    user_id: int
    agent_id: str
    name: str
    active: bool
    superuser: bool
    bots: frozenset[int]

    def works_on(self, bot_id: int, *, single_bot: bool) -> bool:
        """Whether leads of `bot_id` may be assigned to them: an active member of its team, a
        superuser, or anyone while the installation has a single bot (selectors.bots' rule)."""
        return self.active and (self.superuser or single_bot or bot_id in self.bots)


@dataclass(frozen=True)
class AgentLabel:
    """What a page shows for an agent id: `text` (the person's name, "Unassigned", or the id
    shortened when nobody is linked to it) and `title` (the full id, for a tooltip)."""

    agent_id: str
    name: str = ""

    @property
    def linked(self) -> bool:
        return bool(self.name)

    @property
    def short(self) -> str:
        return short_id(self.agent_id)

    @property
    def text(self) -> str:
        if not self.agent_id:
            return "Unassigned"
        return self.name or self.short

    @property
    def title(self) -> str:
        return self.agent_id

    def __str__(self) -> str:
        return self.text


def short_id(agent_id: str) -> str:
    """The first 6 and last 4 characters of a long id ("64a1a9…0042"); a short one whole."""
    return agent_id if len(agent_id) <= 12 else f"{agent_id[:6]}…{agent_id[-4:]}"


def display_name(first_name: str, last_name: str, username: str) -> str:
    return f"{first_name} {last_name}".strip() or username


# --- the cached directory ------------------------------------------------------------------------


def forget_people() -> None:
    """A profile, a person's name or a team changed: the next read builds the directory anew."""
    counting.bump(VERSION_KEY)


def _load() -> tuple[Person, ...]:
    """Every linked person with the bots they are a member of, in one query (one row per
    membership)."""
    rows = (
        AgentProfile.objects.exclude(agent_id="")
        .order_by("agent_id")
        .values_list(
            "agent_id",
            "user_id",
            "user__first_name",
            "user__last_name",
            "user__username",
            "user__is_active",
            "user__is_superuser",
            "user__bots",
        )
    )
    found: dict[str, tuple] = {}
    bots: dict[str, set[int]] = {}
    for agent_id, user_id, first, last, username, active, superuser, bot_id in rows:
        found[agent_id] = (user_id, display_name(first, last, username), active, superuser)
        if bot_id is not None:
            bots.setdefault(agent_id, set()).add(bot_id)
    return tuple(
        Person(
            user_id=user_id,
            agent_id=agent_id,
            name=name,
            active=active,
            superuser=superuser,
            bots=frozenset(bots.get(agent_id, ())),
        )
        for agent_id, (user_id, name, active, superuser) in found.items()
    )


def people() -> tuple[Person, ...]:
    """Every linked person (active or not: a former agent's leads still show their name)."""
    key = f"botpanel:people:{counting.version(VERSION_KEY)}"
    found = cache.get(key)
    if found is None:
        found = _load()
        cache.set(key, found, CACHE_SECONDS)
    return found


def names() -> dict[str, str]:
    """{agent id: the linked person's name}."""
    return {person.agent_id: person.name for person in people()}


def person_by_agent_id(agent_id: str) -> Person | None:
    if not agent_id:
        return None
    return next((p for p in people() if p.agent_id == agent_id), None)


def person_of(user) -> Person | None:
    """The person `user` is, when they are linked to an agent id."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return next((p for p in people() if p.user_id == user.pk), None)


def agent_label(agent_id: str, known: dict[str, str] | None = None) -> AgentLabel:
    """The label of `agent_id`; `known`: names() when a page labels many ids."""
    known = names() if known is None else known
    return AgentLabel(agent_id=agent_id or "", name=known.get(agent_id or "", ""))


def people_of_bots(bot_ids: Iterable[int], *, single_bot: bool) -> list[Person]:
    """The active people who work on any of `bot_ids`, by name: whom their leads can be assigned
    to, and the list's agent filter's choices."""
    wanted = set(bot_ids)
    return sorted(
        (
            p
            for p in people()
            if any(p.works_on(bot_id, single_bot=single_bot) for bot_id in wanted)
        ),
        key=lambda p: (p.name.casefold(), p.agent_id),
    )


def single_bot_installation() -> bool:
    """For callers without a Visibility at hand (the system itself)."""
    return Bot.objects.count() == 1


# --- "me" in the list's agent filter ---------------------------------------------------------------


def resolve_me(params: QueryDict, user) -> QueryDict:
    """`params` with `agent=me` replaced by the person's agent id. The list's counts are cached
    by their parameters, so "me" must become the id before any of them is read; a person not
    linked keeps "me", which matches nothing (selectors.filters)."""
    if params.get("agent") != ME:
        return params
    person = person_of(user)
    if person is None:
        return params
    resolved = params.copy()
    resolved["agent"] = person.agent_id
    return resolved


# --- what makes the directory out of date -----------------------------------------------------------


@receiver(post_save, sender=AgentProfile, dispatch_uid="leads.people.profile_saved")
@receiver(post_delete, sender=AgentProfile, dispatch_uid="leads.people.profile_deleted")
@receiver(post_delete, sender=Bot, dispatch_uid="leads.people.bot_deleted")
def profile_changed(sender, **kwargs) -> None:
    forget_people()


@receiver(m2m_changed, sender=Bot.members.through, dispatch_uid="leads.people.team_changed")
def team_changed(sender, action: str, **kwargs) -> None:
    if action.startswith("post_"):
        forget_people()


def user_saved(sender, update_fields=None, **kwargs) -> None:
    """A save that may change a name (a sign-in's last_login alone does not)."""
    if update_fields is None or PERSON_FIELDS.intersection(update_fields):
        forget_people()


post_save.connect(user_saved, sender=get_user_model(), dispatch_uid="leads.people.user_saved")
post_delete.connect(
    profile_changed, sender=get_user_model(), dispatch_uid="leads.people.user_deleted"
)
