"""Placeholder until the sync controls are built (issue 3)."""

from django.http import Http404


def sync_now(request):
    raise Http404


sync_status = sync_now
