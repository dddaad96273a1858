"""The triage macros offered on a page: those of every bot and those of the lead's (or the
list's) bot. A handful of rows read on every list and detail page, so they are cached under a
version any save or delete of a macro bumps (at once in this process, within CACHE_SECONDS in the
others with a per-process cache)."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from leads.models import Macro
from leads.selectors import counting
from leads.selectors.history import agent_label, agent_names, status_word

VERSION_KEY = "botpanel:macros-version"
CACHE_SECONDS = 60


def macros_version() -> int:
    return counting.version(VERSION_KEY)


def forget_macros() -> None:
    counting.bump(VERSION_KEY)


def all_macros() -> tuple[Macro, ...]:
    key = f"botpanel:macros:{macros_version()}"
    found = cache.get(key)
    if found is None:
        found = tuple(Macro.objects.order_by("position", "name", "id"))
        cache.set(key, found, CACHE_SECONDS)
    return found


def macros_for_bots(bot_ids: Iterable[int | None]) -> list[Macro]:
    """The macros of every bot and of `bot_ids`, in their order."""
    wanted = {bot_id for bot_id in bot_ids if bot_id is not None}
    return [m for m in all_macros() if m.bot_id is None or m.bot_id in wanted]


def macro_for_bots(pk: int, bot_ids: Iterable[int | None]) -> Macro | None:
    """Macro `pk` when it is offered for `bot_ids`, else None (a 404 for the person)."""
    return next((m for m in macros_for_bots(bot_ids) if m.pk == pk), None)


@receiver(post_save, sender=Macro, dispatch_uid="leads.macros.saved")
@receiver(post_delete, sender=Macro, dispatch_uid="leads.macros.deleted")
def macro_changed(sender, **kwargs) -> None:
    forget_macros()


def macro_summary(macro: Macro) -> str:
    """What a macro does, in words, for its button's tooltip: "status Review, assign to me,
    tag +callback, note Called"."""
    parts = [f"status {status_word(macro.status)}"] if macro.status else []
    if macro.assign == Macro.Assign.ME:
        parts.append("assign to me")
    elif macro.assign == Macro.Assign.NOBODY:
        parts.append("unassign")
    elif macro.assign == Macro.Assign.AGENT:
        parts.append(f"assign to {agent_label(macro.agent_id, agent_names())[0]}")
    parts += [f"tag +{tag}" for tag in macro.add_tags] + [f"tag −{t}" for t in macro.remove_tags]
    if macro.note_title or macro.note_template:
        parts.append(f"note {macro.note_title or macro.name}")
    return ", ".join(parts)
