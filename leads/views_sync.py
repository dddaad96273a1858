"""Sync now (lead admins) and the sync status fragment the frame polls while a sync runs."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from leads import selectors, services
from leads.permissions import SYNC, VIEW, permission_required


@require_POST
@permission_required(SYNC)
def sync_now(request: HttpRequest) -> HttpResponse:
    run = services.sync_start(user=request.user)
    if request.htmx:
        run.refresh_from_db()
        return render(request, "leads/partials/sync_status.html", {"run": run})
    messages.info(request, "Sync started.")
    return redirect(request.POST.get("next") or "leads:home")


@require_GET
@permission_required(VIEW)
def sync_status(request: HttpRequest) -> HttpResponse:
    return render(request, "leads/partials/sync_status.html", {"run": selectors.last_sync()})
