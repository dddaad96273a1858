"""The list's filters. Every filter lives in the query string, so a filtered view is a URL."""

import copy
import functools
from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from leads.models import Lead, LeadChange, LeadTag, Status

PER_PAGE_CHOICES = (25, 50, 100)


class _Shared:
    """A filter copied shallowly for each request's filter set. django-filter deep-copies every
    filter, widget and choices included, for every request (a tenth of a list page); a request
    only sets the copy's own attributes (model, parent, its field), never what it shares."""

    def __deepcopy__(self, memo):
        new = copy.copy(self)
        if new.method is not None:
            new.method = new.method  # its FilterMethod must call the copy's parent, not ours
        return new


class CharFilter(_Shared, django_filters.CharFilter):
    pass


class DateFilter(_Shared, django_filters.DateFilter):
    pass


class MultipleChoiceFilter(_Shared, django_filters.MultipleChoiceFilter):
    pass


def _day_start(value) -> datetime:
    return timezone.make_aware(datetime.combine(value, time.min))


def day_filter(field_name: str, label: str, *, after: bool) -> DateFilter:
    """A date input that filters `field_name` from the start of that day (after=True) or up
    to its end, in the site's time zone; a range on the column, so an index can serve it."""
    return DateFilter(
        field_name=field_name,
        label=label,
        method=filter_from_day if after else filter_until_day,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


def filter_from_day(queryset: QuerySet, name: str, value) -> QuerySet:
    return queryset.filter(**{f"{name}__gte": _day_start(value)})


def filter_until_day(queryset: QuerySet, name: str, value) -> QuerySet:
    return queryset.filter(**{f"{name}__lt": _day_start(value + timedelta(days=1))})


# The rowids of the leads whose name, email or phone holds a phrase (SQLite's FTS5 trigram index).
SEARCH_MATCHES = "SELECT rowid FROM leads_lead_search WHERE leads_lead_search MATCH %s"

# The date filters (LeadFilter's day_filter fields), in the order the list shows them.
DATE_FILTERS = ("updated_after", "updated_before", "created_after", "created_before")


class LeadFilter(django_filters.FilterSet):
    q = CharFilter(
        method="filter_q",
        label="Search",
        widget=forms.TextInput(
            attrs={"placeholder": "Name, email or phone  ( / )", "type": "search"}
        ),
    )
    status = MultipleChoiceFilter(
        choices=Status.choices, widget=forms.CheckboxSelectMultiple, distinct=False
    )
    tag = CharFilter(method="filter_tag", label="Tag", max_length=255)
    agent = CharFilter(
        method="filter_agent", label="Agent", help_text='"none" for unassigned', max_length=255
    )
    updated_after = day_filter("remote_updated_at", "Updated from", after=True)
    updated_before = day_filter("remote_updated_at", "Updated until", after=False)
    created_after = day_filter("remote_created_at", "Created from", after=True)
    created_before = day_filter("remote_created_at", "Created until", after=False)

    class Meta:
        model = Lead
        fields = ["q", "status", "tag", "agent"]

    # Set by the list when its cached count says the search matches many rows (see filter_q).
    many_matches = False

    def get_form_class(self):
        """The same form class for every request: django-filter builds a new class, and a new
        field for every filter, each time (see _form_class)."""
        return _form_class(type(self))

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Substring search over name, email and phone, through the search index (see
        migration 0003): FTS5 trigram on SQLite, pg_trgm behind icontains on PostgreSQL."""
        value = value.strip()[:200]
        if not value:
            return queryset
        if connection.vendor == "sqlite" and len(value) >= 3:
            phrase = '"' + value.replace('"', '""') + '"'
            if self.many_matches:
                # SQLite would fetch every match by rowid and sort them all; when the search is
                # known to match many rows, walking the list's ordered index and testing each
                # row against the matches stops after a page (`+id`: not through the rowid).
                walk = f'+"leads_lead"."id" IN ({SEARCH_MATCHES})'
                return queryset.filter(RawSQL(walk, [phrase], output_field=BooleanField()))
            return queryset.filter(id__in=RawSQL(SEARCH_MATCHES, [phrase]))
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


@functools.cache
def _form_class(filterset_class: type[django_filters.FilterSet]) -> type:
    """What FilterSet.get_form_class() builds, once per filter set class. Each filter's field is
    built here once too, on the class's own filter, and shared by every request's copy (a filter
    only reads it; the form deep-copies its fields, as forms do)."""
    fields = {}
    for name, filter_ in filterset_class.base_filters.items():
        filter_.model = filterset_class._meta.model  # what a field's default label comes from
        fields[name] = filter_.field
    return type(f"{filterset_class.__name__}Form", (filterset_class._meta.form,), fields)


class ChangeFilter(django_filters.FilterSet):
    """The Activity page: edits by person, lead, state and date."""

    user = django_filters.ModelChoiceFilter(
        queryset=lambda request: get_user_model().objects.order_by("username"), label="Person"
    )
    lead = django_filters.CharFilter(method="filter_lead", label="Lead (name or uuid)")
    state = django_filters.MultipleChoiceFilter(
        choices=LeadChange.State.choices, widget=forms.CheckboxSelectMultiple, distinct=False
    )
    after = day_filter("created_at", "From", after=True)
    before = day_filter("created_at", "Until", after=False)

    class Meta:
        model = LeadChange
        fields = ["user", "lead", "state", "after", "before"]

    def filter_lead(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(lead__uuid=value) | Q(lead__name__icontains=value))
