"""The bots a request's person sees (once per request), their lead lookups by uuid, and the list's
bot choice: part of the URL (`?bot=<id>`, shareable) and remembered in the session."""

from django.http import Http404, HttpRequest, QueryDict

from leads.models import Lead
from leads.selectors.bots import Visibility, chosen_bot, lead_by_uuid, visibility

# The session key of the bot the list was last scoped to; "?bot=all" forgets it.
REMEMBERED_BOT = "leads.list_bot"
ALL_BOTS = "all"


def seen(request: HttpRequest) -> Visibility:
    """The bots the request's person sees, read once per request (visibility() keeps it on the
    request's user, whom the frame, the view, its forms and the services all ask about)."""
    return visibility(request.user)


def lead_or_404(request: HttpRequest, uuid: str) -> Lead:
    """The lead with `uuid` among the person's bots (`?bot=<id>` picks one where several hold
    that uuid; see selectors.bots.lead_by_uuid); any other is a 404."""
    lead = lead_by_uuid(uuid, seen=seen(request), bot=request.GET.get("bot"))
    if lead is None:
        raise Http404("No such lead.")
    return lead


def list_params(request: HttpRequest) -> QueryDict:
    """The list's query with the bot choice applied: `?bot=<id>` of a bot the person sees is
    remembered, `?bot=all` forgets it, and without a `bot` parameter the remembered one applies
    (when it is still one they see)."""
    params = request.GET.copy()
    visible = seen(request)
    value = params.get("bot")
    session = request.session
    if value == ALL_BOTS:
        params.pop("bot")
        session.pop(REMEMBERED_BOT, None)
    elif value:
        bot_id = chosen_bot(value)
        if visible.sees(bot_id) and session.get(REMEMBERED_BOT) != bot_id:
            session[REMEMBERED_BOT] = bot_id
    elif visible.several and visible.sees(session.get(REMEMBERED_BOT)):
        params["bot"] = str(session[REMEMBERED_BOT])
    return params


def current_bot(request: HttpRequest) -> int | None:
    """The bot the list is scoped to now (the switcher marks it), or None for all."""
    visible = seen(request)
    value = request.GET.get("bot")
    if value == ALL_BOTS:
        return None
    bot_id = chosen_bot(value) if value else request.session.get(REMEMBERED_BOT)
    return bot_id if visible.sees(bot_id) else None
