"""The list's filters. Every filter lives in the query string, so a filtered view is a URL."""

from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from leads.models import Lead, LeadTag, Status

PER_PAGE_CHOICES = (25, 50, 100)


def _day_start(value) -> datetime:
    return timezone.make_aware(datetime.combine(value, time.min))


class LeadFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_q",
        label="Search",
        widget=forms.TextInput(
            attrs={"placeholder": "Name, email or phone  ( / )", "type": "search"}
        ),
    )
    status = django_filters.MultipleChoiceFilter(
        choices=Status.choices, widget=forms.CheckboxSelectMultiple, distinct=False
    )
    tag = django_filters.CharFilter(method="filter_tag", label="Tag", max_length=255)
    agent = django_filters.CharFilter(
        method="filter_agent", label="Agent", help_text='"none" for unassigned', max_length=255
    )
    updated_after = django_filters.DateFilter(
        method="filter_after", field_name="remote_updated_at", label="Updated from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )  # fmt: skip
    updated_before = django_filters.DateFilter(
        method="filter_before", field_name="remote_updated_at", label="Updated until",
        widget=forms.DateInput(attrs={"type": "date"}),
    )  # fmt: skip
    created_after = django_filters.DateFilter(
        method="filter_after", field_name="remote_created_at", label="Created from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )  # fmt: skip
    created_before = django_filters.DateFilter(
        method="filter_before", field_name="remote_created_at", label="Created until",
        widget=forms.DateInput(attrs={"type": "date"}),
    )  # fmt: skip

    class Meta:
        model = Lead
        fields = ["q", "status", "tag", "agent"]

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Substring search over name, email and phone, through the search index (see
        migration 0003): FTS5 trigram on SQLite, pg_trgm behind icontains on PostgreSQL."""
        value = value.strip()[:200]
        if not value:
            return queryset
        if connection.vendor == "sqlite" and len(value) >= 3:
            phrase = '"' + value.replace('"', '""') + '"'
            return queryset.filter(
                id__in=RawSQL(
                    "SELECT rowid FROM leads_lead_search WHERE leads_lead_search MATCH %s",
                    [phrase],
                )
            )
        return queryset.filter(
            Q(name__icontains=value) | Q(email__icontains=value) | Q(phone__icontains=value)
        )

    def filter_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        key = value.strip().casefold()
        if not key:
            return queryset
        # EXISTS, not IN: the database walks the list's ordered index and probes the (lead, key)
        # index per row, stopping after a page, instead of collecting every tagged lead first.
        return queryset.filter(Exists(LeadTag.objects.filter(lead_id=OuterRef("pk"), key=key)))

    def filter_agent(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(agent_id="" if value == "none" else value)

    def filter_after(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(**{f"{name}__gte": _day_start(value)})

    def filter_before(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(**{f"{name}__lt": _day_start(value + timedelta(days=1))})
