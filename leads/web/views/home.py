"""The overview page."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from leads.accounts.permissions import VIEW, permission_required
from leads.selectors import overview as selectors


@permission_required(VIEW)
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "leads/home.html",
        {"counts": selectors.mirror_counts(), "last_success": selectors.last_successful_sync()},
    )
