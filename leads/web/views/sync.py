"""Sync now (lead admins) and the sync status fragment the frame polls while a sync runs."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_POST

from leads import services
from leads.accounts.permissions import SYNC, VIEW, permission_required
from leads.models import Bot
from leads.selectors import overview as selectors
from leads.selectors.bots import visibility
from leads.sync.run import SyncBusy
from leads.web.redirects import redirect_back


@require_POST
@permission_required(SYNC)
def sync_now(request: HttpRequest) -> HttpResponse:
    # The bots the person sees; with none configured at all, the service records why.
    seen = visibility(request.user).ids
    bots = list(Bot.objects.filter(pk__in=seen, active=True)) if Bot.objects.exists() else None
    try:
        run = services.sync_start(user=request.user, bots=bots)
    except SyncBusy as e:
        message = f"Not started: {e}."
        if request.htmx:
            # Shown for a few seconds, then the status (and its polling) comes back.
            return HttpResponse(
                format_html(
                    '<span class="small text-warning sync-error" role="status" hx-get="{}" '
                    'hx-trigger="load delay:5s" hx-target="#sync-status" hx-swap="innerHTML">'
                    "{}</span>",
                    reverse("leads:sync-status"),
                    message,
                )
            )
        messages.warning(request, message)
        return redirect_back(request, "leads:home")
    if request.htmx:
        run.refresh_from_db()
        return render(request, "leads/partials/sync_status.html", {"run": run}, using="jinja2")
    messages.info(request, "Sync started.")
    return redirect_back(request, "leads:home")


@require_GET
@permission_required(VIEW)
def sync_status(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "leads/partials/sync_status.html",
        {"run": selectors.last_sync()},
        using="jinja2",
    )
