"""Thin views: parse the request, call a selector or a service, render.

The list views live in views_list.py, the detail page and its forms in views_detail.py and the
sync controls in views_sync.py; this module gathers them for the URLconf.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from leads import selectors
from leads.permissions import VIEW, permission_required
from leads.views_changes import (
    ActivityView,
    change_counts,
    change_discard,
    change_retry,
    changes_retry_failed,
    healthz,
)
from leads.views_detail import add_note, edit_contact, edit_status, edit_tags, lead_detail
from leads.views_list import LeadListView, bulk_action, row_status, tag_options
from leads.views_sync import sync_now, sync_status

__all__ = [
    "ActivityView",
    "change_counts",
    "change_discard",
    "change_retry",
    "changes_retry_failed",
    "healthz",
    "LeadListView",
    "add_note",
    "bulk_action",
    "edit_contact",
    "edit_status",
    "edit_tags",
    "home",
    "lead_detail",
    "row_status",
    "sync_now",
    "sync_status",
    "tag_options",
]


@permission_required(VIEW)
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "leads/home.html",
        {"counts": selectors.mirror_counts(), "last_success": selectors.last_successful_sync()},
    )
