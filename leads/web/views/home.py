"""The overview page, and the page of a person who belongs to no bot."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from leads.accounts.permissions import VIEW, permission_required
from leads.accounts.teams import whom_to_ask
from leads.selectors import overview as selectors
from leads.web.scope import seen


def no_bots(request: HttpRequest) -> HttpResponse:
    """The installation has bots, but this person is a member of none: say so, and whom to ask."""
    return render(request, "leads/no_bots.html", {"people": whom_to_ask()})


@permission_required(VIEW)
def home(request: HttpRequest) -> HttpResponse:
    visible = seen(request)
    if visible.locked_out:
        return no_bots(request)
    return render(
        request,
        "leads/home.html",
        {
            "counts": selectors.mirror_counts(visible.scope),
            "last_success": selectors.last_successful_sync(visible.scope),
        },
    )
