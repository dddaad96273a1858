"""A person's workspace state: saved views (create, rename, share, reorder, delete) and the leads
they have opened (`lead_mark_seen`). None of it is sent to BotPenguin.

A saved view keeps a list query string only, never an address: `clean_query` refuses a scheme,
a host or a path other than the list's, and any parameter the list does not read, and checks the
filters through the list's own filter form, so a view always reopens a list the person could
have made by hand. A view of one bot names it (`bot=<id>`, a bot the person sees); a shared view
is seen by that bot's team, or by everyone when it is of every bot.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from urllib.parse import urlsplit

from django.core.cache import cache
from django.db import transaction
from django.db.models import Max
from django.http import Http404, QueryDict
from django.urls import reverse
from django.utils import timezone

from leads.accounts.permissions import EDIT_CONTACT, VIEW, has, require_service, require_visible
from leads.models import Lead, LeadSeen, SavedView
from leads.selectors.bots import chosen_bot, visibility
from leads.selectors.filters import PER_PAGE_CHOICES, LeadFilter
from leads.selectors.queues import new_lead_days, split_views, visible_views

MAX_QUERY = 2000
MAX_NAME = 100
# What a view keeps besides the filters: the kind, the sort and the rows per page. Paging and
# exports are dropped: a view opens on its first page.
KEPT = ("type", "sort", "per_page")
DROPPED = ("page", "_export")


class SavedViewError(Exception):
    """A view that cannot be saved so: `message` for the person, `field` it is about."""

    def __init__(self, message: str, field: str = "query"):
        super().__init__(message)
        self.message = message
        self.field = field


def _strip_address(text: str) -> str:
    """The query string of `text`: a query with or without "?", or the list's own path with one;
    anything with a scheme, a host or another path is refused."""
    text = text.strip()
    if text.startswith("?"):
        return text[1:]
    parts = urlsplit(text)
    if parts.scheme or parts.netloc or text.startswith(("/", "\\")) or "#" in text:
        if not parts.scheme and not parts.netloc and parts.path == reverse("leads:list"):
            return parts.query
        raise SavedViewError(
            "A view keeps the list's query only (such as status=OPEN&tag=vip), not an address."
        )
    return text


def _check_controls(params: QueryDict, sorts: Iterable[str]) -> None:
    if params.get("type", "non-lead") != "non-lead":
        raise SavedViewError('"type" can only be "non-lead" (the other chats).')
    if "per_page" in params and params["per_page"] not in {str(n) for n in PER_PAGE_CHOICES}:
        raise SavedViewError(
            "Rows per page can be " + ", ".join(str(n) for n in PER_PAGE_CHOICES) + "."
        )
    allowed = {prefix + name for name in sorts for prefix in ("", "-")}
    if "sort" in params and params["sort"] not in allowed:
        raise SavedViewError(f'The list cannot be sorted by "{params["sort"]}".')


def _check_bot(params: QueryDict, user) -> None:
    value = params.get("bot")
    if value in (None, "all"):
        return
    if not visibility(user).sees(chosen_bot(value)):
        raise SavedViewError("That bot is not one of yours.")


def _check_filters(params: QueryDict) -> None:
    if params.get("bot") == "all":  # the list reads "all" before its filters (web.scope)
        params = params.copy()
        params.pop("bot")
    filters = LeadFilter(params, queryset=Lead.objects.none())
    if filters.is_valid():
        return
    form = filters.form
    problems = [
        f"{form.fields[name].label or name}: {' '.join(errors)}"
        for name, errors in filters.errors.items()
    ]
    raise SavedViewError("Some filters are not valid: " + "; ".join(problems))


def clean_query(text: str, *, user, sorts: Iterable[str] = ()) -> str:
    """The list query `text` names, as it is saved (raises SavedViewError). `sorts`: the list's
    sortable columns."""
    query = _strip_address(text or "")
    if len(query) > MAX_QUERY:
        raise SavedViewError(f"A view's query can be at most {MAX_QUERY} characters long.")
    params = QueryDict(query, mutable=True)
    for name in DROPPED:
        params.pop(name, None)
    unknown = sorted(set(params) - set(LeadFilter.base_filters) - set(KEPT))
    if unknown:
        raise SavedViewError(f'The list has no "{unknown[0]}" parameter.')
    _check_controls(params, sorts)
    _check_bot(params, user)
    _check_filters(params)
    return params.urlencode()


def _clean_name(name: str, *, owner, exclude: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise SavedViewError("Give the view a name.", "name")
    if len(name) > MAX_NAME:
        raise SavedViewError(f"A name can be at most {MAX_NAME} characters long.", "name")
    taken = SavedView.objects.filter(owner=owner, name__iexact=name).exclude(pk=exclude)
    if taken.exists():
        raise SavedViewError(f'You already have a view named "{name}".', "name")
    return name


def _bot_of(query: str) -> int | None:
    value = QueryDict(query).get("bot")
    return chosen_bot(value)


def visible_view(*, user, pk: int) -> SavedView:
    """The view `pk` among those `user` sees; any other is a 404 (never a 403 that would say
    another person's view exists)."""
    view = visible_views(user, visibility(user)).filter(pk=pk).first()
    if view is None:
        raise Http404("No such view.")
    return view


def can_manage(user, view: SavedView) -> bool:
    """Its owner manages a view; lead admins also manage the shared ones they see."""
    return view.owner_id == user.pk or (view.shared and has(user, EDIT_CONTACT))


def _require_manage(user, view: SavedView) -> None:
    if not can_manage(user, view):
        raise SavedViewError("Only its owner or a lead admin can change a shared view.", "name")


def saved_view_create(
    *, user, name: str, query: str, shared: bool = False, sorts: Iterable[str] = ()
) -> SavedView:
    """Save `query` under `name`, personal or shared with the team of the view's bot (everyone
    when it is of every bot); it goes last."""
    require_service(user, VIEW)
    name = _clean_name(name, owner=user)
    query = clean_query(query, user=user, sorts=sorts)
    last = SavedView.objects.aggregate(last=Max("position"))["last"]
    return SavedView.objects.create(
        owner=user,
        name=name,
        query=query,
        shared=shared,
        bot_id=_bot_of(query),
        position=0 if last is None else last + 1,
    )


def saved_view_update(
    *,
    view: SavedView,
    user,
    name: str,
    shared: bool | None = None,
    query: str | None = None,
    sorts: Iterable[str] = (),
) -> SavedView:
    """Rename a view, and (its owner) share or unshare it; `query` None keeps its query."""
    require_service(user, VIEW)
    _require_manage(user, view)
    view.name = _clean_name(name, owner=view.owner, exclude=view.pk)
    if shared is not None and shared != view.shared:
        if view.owner_id != user.pk:
            raise SavedViewError("Only its owner can share or unshare a view.", "shared")
        view.shared = shared
    if query is not None:
        view.query = clean_query(query, user=user, sorts=sorts)
        view.bot_id = _bot_of(view.query)
    view.save()
    return view


def saved_view_move(*, view: SavedView, user, direction: str) -> None:
    """Move a view one place up or down among the list it is shown in (the person's own, or the
    shared ones they see), numbering that list anew."""
    require_service(user, VIEW)
    _require_manage(user, view)
    if direction not in ("up", "down"):
        raise SavedViewError('Move a view "up" or "down".')
    personal, shared = split_views(visible_views(user, visibility(user)))
    section = shared if view.shared else personal
    ids = [v.pk for v in section]
    place = ids.index(view.pk)
    other = place - 1 if direction == "up" else place + 1
    if not 0 <= other < len(ids):
        return
    ids[place], ids[other] = ids[other], ids[place]
    moved = {v.pk: v for v in section}
    start = min(v.position for v in section)
    with transaction.atomic():
        for offset, pk in enumerate(ids):
            moved[pk].position = start + offset
        SavedView.objects.bulk_update(list(moved.values()), ["position"])


def saved_view_delete(*, view: SavedView, user) -> None:
    require_service(user, VIEW)
    _require_manage(user, view)
    view.delete()


# Who opened which lead, as this process last marked it (lead_mark_seen).
SEEN_KEY = "botpanel:seen:{}:{}"
SEEN_SECONDS = 24 * 3600


def lead_mark_seen(*, lead: Lead, user) -> None:
    """`user` opened `lead`: it is no longer new for them. One upsert, and only for a lead that
    arrived recently enough to be new (queues.new_for); an older one is never marked new. Only
    whether they opened it counts (the list's New mark), so a lead this process already marked
    for them is not marked again: a reload, or the page a form comes back to, writes nothing
    (on SQLite a write takes the database's one lock)."""
    if user is None or not user.is_authenticated:
        return
    require_visible(user, lead.bot_id)
    now = timezone.now()
    arrived = lead.remote_created_at
    if arrived is None or arrived < now - timedelta(days=new_lead_days()):
        return
    key = SEEN_KEY.format(user.pk, lead.pk)
    if cache.get(key) is not None:
        return
    LeadSeen.objects.bulk_create(
        [LeadSeen(user=user, lead=lead, seen_at=now)],
        update_conflicts=True,
        unique_fields=["user", "lead"],
        update_fields=["seen_at"],
    )
    cache.set(key, True, SEEN_SECONDS)
