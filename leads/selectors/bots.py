"""Who sees which bots, and the bot scope every read of leads applies.

Teams are a membership model: `Bot.members` (a many-to-many from a bot to the users who work on
it) is each bot's team, rather than one Django group per bot, so that a bot's team is edited on
the bot (admin, `createagent --bot`) and a role (Agent, Lead admin: Django groups) stays what a
person may do, independent of where.

The rules (`visibility`):

* a superuser sees every bot;
* anyone else sees the bots they are a member of;
* while the installation has exactly ONE bot, every user with a role (one that holds
  ROLE_PERMISSION, which every role group gives) sees it, member or not: a single-bot
  installation needs no team setup. When a second bot is created those users become members of
  the first (leads.accounts.teams, on the Bot's post_save), so nobody loses access.

A lead of a bot the user does not see does not exist for them: every lookup goes through the
scope, so it is a 404, never a 403 that confirms it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.db import connection
from django.db.models import Count, Exists, OuterRef, QuerySet

from leads.compiled import STAND_IN, CompiledQuery, compile_once
from leads.models import Bot, Lead
from leads.selectors import counting, rollup_counts

# Every role of leads.accounts.permissions.ROLE_PERMISSIONS holds it (a test checks): holding it
# is "having a role" for the single-bot rule.
ROLE_PERMISSION = "leads.view_lead"


@dataclass(frozen=True)
class BotRef:
    """What a page shows of a bot (never its token)."""

    id: int
    name: str


@dataclass(frozen=True)
class Scope:
    """The bots a read of leads is limited to; `ids` None: no condition at all (every bot)."""

    ids: tuple[int, ...] | None

    def apply(self, queryset: QuerySet, field: str = "bot_id") -> QuerySet:
        """`queryset` limited to the scope's bots, as a condition an index can serve: none for
        every bot, `field = X` for one, `field IN (…)` for several."""
        if self.ids is None:
            return queryset
        if not self.ids:
            return queryset.none()
        if len(self.ids) == 1:
            return queryset.filter(**{field: self.ids[0]})
        return queryset.filter(**{f"{field}__in": self.ids})

    @property
    def key(self) -> str:
        """For cache keys of counts under this scope."""
        return "*" if self.ids is None else ",".join(map(str, self.ids))


EVERY_BOT = Scope(None)


@dataclass(frozen=True)
class Visibility:
    """The bots one user sees (by name), and whether those are all the installation has."""

    bots: tuple[BotRef, ...]
    installation_bots: int

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(bot.id for bot in self.bots)

    @property
    def every_bot(self) -> bool:
        return len(self.bots) == self.installation_bots

    @property
    def several(self) -> bool:
        """More than one bot: the switcher, the Bot column and the Bot filter are shown."""
        return len(self.bots) > 1

    @property
    def locked_out(self) -> bool:
        """The installation has bots, but this user sees none of them."""
        return not self.bots and self.installation_bots > 0

    @property
    def scope(self) -> Scope:
        return EVERY_BOT if self.every_bot else Scope(self.ids)

    def sees(self, bot_id: int | None) -> bool:
        return bot_id in self.ids

    def names(self) -> dict[int, str]:
        return {bot.id: bot.name for bot in self.bots}


# Where visibility() keeps its answer on a user object: like Django's own permission cache, for
# the life of that object (a request's user is loaded for each request).
CACHE_ATTRIBUTE = "botpanel_visibility"


def visibility(user) -> Visibility:
    """The bots `user` sees (see the module's rules), in one query, once per user object (the
    request's views, forms and services all ask)."""
    cached = getattr(user, CACHE_ATTRIBUTE, None)
    if cached is None:
        cached = _visibility(user)
        if user is not None:
            setattr(user, CACHE_ATTRIBUTE, cached)
    return cached


@cache
def bots_with_member_flag_query() -> CompiledQuery:
    """Every bot's id and name and whether one user is a member of it, by name, compiled once
    per process like the signed-in user's query (accounts.backends): every page asks, and
    compiling it cost thirty times running it."""
    members = Bot.members.through.objects.filter(bot_id=OuterRef("pk"), user_id=STAND_IN)
    rows = (
        Bot.objects.annotate(member=Exists(members))
        .order_by("name", "id")
        .values_list("id", "name", "member")
    )
    return compile_once(rows)


def _visibility(user) -> Visibility:
    if user is None or not user.is_authenticated or not user.is_active:
        return Visibility(bots=(), installation_bots=Bot.objects.count())
    query = bots_with_member_flag_query()
    with connection.cursor() as cursor:
        cursor.execute(query.sql, query.bind(user.pk))
        rows = cursor.fetchall()
    if user.is_superuser or (len(rows) == 1 and user.has_perm(ROLE_PERMISSION)):
        seen = rows
    else:
        seen = [row for row in rows if row[2]]
    return Visibility(
        bots=tuple(BotRef(id=row[0], name=row[1]) for row in seen), installation_bots=len(rows)
    )


def chosen_bot(value: str | None) -> int | None:
    """The bot id a `?bot=` parameter names, or None ("all", empty or not a number)."""
    if value and value.isdigit():
        return int(value)
    return None


def list_scope(seen: Visibility, params) -> Scope:
    """The scope of a list read with `params`. A `bot` the user sees is applied by the list's
    own Bot filter (`bot_id = X`, an index seek), so the scope adds nothing then; any other
    value leaves the user's own scope in place, so it can only narrow what they see."""
    if seen.sees(chosen_bot(params.get("bot"))):
        return EVERY_BOT
    return seen.scope


def lead_by_uuid(uuid: str, *, seen: Visibility, bot: str | None = None) -> Lead | None:
    """The lead with `uuid` among the bots the user sees, or None. A uuid is unique only within
    a bot: `bot` (the `?bot=` parameter) picks one; without it, when several of the user's bots
    hold that uuid, the lead of the lowest bot id is the one (deterministic)."""
    leads = seen.scope.apply(Lead.objects.select_related("bot").filter(uuid=uuid))
    wanted = chosen_bot(bot)
    if wanted is not None:
        leads = leads.filter(bot_id=wanted)
    return leads.order_by("bot_id").first()


def lead_counts(seen: Visibility) -> dict[int, int]:
    """Leads per bot the user sees, for the bot switcher (cached like the list's counts): from
    the insights' rollup where there is one (a count of every lead is slow at a million)."""

    def compute() -> dict[int, int]:
        counted = rollup_counts.leads_per_bot(seen.scope.ids)
        if counted is not None:
            return counted
        rows = (
            seen.scope.apply(Lead.objects.filter(is_lead__in=[True]))
            .order_by()
            .values_list("bot_id")
            .annotate(n=Count("id"))
        )
        return dict(rows)

    return counting.cached("bot-counts", seen.scope.key, compute)
