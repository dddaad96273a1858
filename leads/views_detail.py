"""Placeholder until the detail page is built (issue 3)."""

from django.http import Http404


def lead_detail(request, uuid):
    raise Http404


edit_status = add_note = edit_tags = edit_contact = lead_detail
