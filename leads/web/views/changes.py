"""The change log: Activity page, retry/discard of failed edits and nav counts."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_POST
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from leads import services
from leads.accounts.permissions import (
    RESOLVE,
    VIEW_CHANGES,
    PermissionRequiredMixin,
    can_resolve_changes,
    permission_required,
)
from leads.models import LeadChange
from leads.selectors import overview as selectors
from leads.selectors.filters import ChangeFilter
from leads.web.redirects import redirect_back
from leads.web.scope import seen
from leads.web.tables import ChangeTable


def _failed_change(request: HttpRequest, pk: int) -> LeadChange:
    """A failed change of a lead of the person's bots; any other is a 404."""
    changes = LeadChange.objects.select_related("lead").filter(state=LeadChange.State.FAILED)
    return get_object_or_404(seen(request).scope.apply(changes, "lead__bot_id"), pk=pk)


@require_POST
@permission_required(RESOLVE)
def change_retry(request: HttpRequest, pk: int) -> HttpResponse:
    change = _failed_change(request, pk)
    change = services.change_retry(change=change, user=request.user)
    if change.state == LeadChange.State.DELIVERED:
        messages.success(request, "Sent to BotPenguin.")
    elif change.state == LeadChange.State.FAILED:
        messages.error(request, f"BotPenguin refused it again: {change.last_error}")
    else:
        messages.warning(request, services.SAVED_PENDING)
    return redirect_back(request, "leads:activity")


@require_POST
@permission_required(RESOLVE)
def change_discard(request: HttpRequest, pk: int) -> HttpResponse:
    change = _failed_change(request, pk)
    services.change_discard(change=change, user=request.user)
    messages.info(request, "Discarded: the lead shows BotPenguin's values again.")
    return redirect_back(request, "leads:activity")


@require_POST
@permission_required(RESOLVE)
def changes_retry_failed(request: HttpRequest) -> HttpResponse:
    count = services.changes_retry_failed(user=request.user)
    messages.info(request, f"{count} failed edit(s) queued to be sent again.")
    return redirect_back(request, "leads:activity")


class ActivityView(PermissionRequiredMixin, SingleTableMixin, FilterView):
    permission = VIEW_CHANGES
    model = LeadChange
    table_class = ChangeTable
    filterset_class = ChangeFilter
    template_name = "leads/activity.html"
    table_pagination = {"per_page": 50}

    def get_queryset(self):
        changes = LeadChange.objects.select_related("lead", "user").order_by("-created_at", "-id")
        return seen(self.request).scope.apply(changes, "lead__bot_id")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["counts"] = selectors.change_counts(seen(self.request).scope)
        context["can_resolve"] = can_resolve_changes(self.request.user)
        return context


@require_GET
@permission_required(VIEW_CHANGES)
def change_counts(request: HttpRequest) -> HttpResponse:
    """The navigation's pending/failed badges (polled by htmx)."""
    return render(
        request,
        "leads/partials/change_counts.html",
        {"counts": selectors.change_counts(seen(request).scope)},
        using="jinja2",
    )
