"""Placeholder until the list is built (issue 3)."""

from django.http import Http404
from django.views import View


class LeadListView(View):
    def get(self, request):
        raise Http404


def bulk_action(request):
    raise Http404


def row_status(request, uuid):
    raise Http404
