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
from leads.selectors.overdue import overdue_q

PER_PAGE_CHOICES = (25, 50, 100)


def _day_start(value) -> datetime:
    return timezone.make_aware(datetime.combine(value, time.min))


def day_filter(field_name: str, label: str, *, after: bool) -> django_filters.DateFilter:
    """A date input that filters `field_name` from the start of that day (after=True) or up
    to its end, in the site's time zone; a range on the column, so an index can serve it."""
    return django_filters.DateFilter(
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
    # The queues' filters (selectors.queues): every status but these ("?status_not=CLOSED": not
    # closed), overdue by the lead admins' rules ("?overdue=1"), updated in the last N hours.
    status_not = django_filters.MultipleChoiceFilter(
        field_name="status",
        choices=Status.choices,
        exclude=True,
        label="Not in status",
        widget=forms.CheckboxSelectMultiple,
        distinct=False,
    )
    overdue = django_filters.ChoiceFilter(
        method="filter_overdue", choices=[("1", "Overdue")], label="Overdue"
    )
    updated_within = django_filters.NumberFilter(
        method="filter_updated_within",
        label="Updated in the last hours",
        min_value=1,
        max_value=24 * 366,
    )
    # Waited in their status (since Lead.waiting_since) at least / less than so many hours: the
    # insights' backlog buckets (?waiting_min=1&waiting_max=4).
    waiting_min = django_filters.NumberFilter(
        method="filter_waiting_min", label="Waiting at least hours", min_value=0, max_value=24 * 366
    )
    waiting_max = django_filters.NumberFilter(
        method="filter_waiting_max", label="Waiting under hours", min_value=0, max_value=24 * 366
    )
    tag = django_filters.CharFilter(method="filter_tag", label="Tag", max_length=255)
    # A person's agent id (the list offers the people of the bots in scope), "none" for the
    # unassigned, "me" for the person's own (selectors.people.resolve_me makes it their id).
    agent = django_filters.CharFilter(
        method="filter_agent", label="Agent", help_text='"none" for unassigned', max_length=255
    )
    # The list's bot switcher and Bot filter (`?bot=<id>`): one bot of those the person sees,
    # whose scope selectors.bots.list_scope leaves to this filter (`bot_id = X`).
    bot = django_filters.NumberFilter(field_name="bot_id", label="Bot", min_value=1)
    updated_after = day_filter("remote_updated_at", "Updated from", after=True)
    updated_before = day_filter("remote_updated_at", "Updated until", after=False)
    created_after = day_filter("remote_created_at", "Created from", after=True)
    created_before = day_filter("remote_created_at", "Created until", after=False)

    class Meta:
        model = Lead
        fields = ["q", "status", "tag", "agent", "bot"]

    # Set by the list when its cached count says the search matches many rows (see filter_q).
    many_matches = False

    def get_form_class(self):
        """The form class, made once per process: django-filter makes a new class, with a new
        form field for each of the fifteen filters, for every FilterSet (a list page makes one,
        two after an edit). These filters take nothing from the request, so one serves all."""
        return form_class_of(type(self))

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
                # S611 (twice): constant SQL; the phrase is a parameter.
                matches = RawSQL(walk, [phrase], output_field=BooleanField())  # noqa: S611
                return queryset.filter(matches)
            return queryset.filter(id__in=RawSQL(SEARCH_MATCHES, [phrase]))  # noqa: S611
        matches = queryset.filter(
            Q(name__icontains=value) | Q(email__icontains=value) | Q(phone__icontains=value)
        )
        if (
            self.many_matches
            and connection.vendor == "postgresql"
            and hasattr(matches, "ids_first")
        ):
            # PostgreSQL walks the list's order index, which holds name, email and phone
            # (migration 0018), testing each entry there: only the page's rows are read from
            # the table, not the thousands the search passes over.
            return matches.ids_first()
        return matches

    def filter_overdue(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(overdue_q()) if value else queryset

    def filter_updated_within(self, queryset: QuerySet, name: str, value) -> QuerySet:
        if not value:
            return queryset
        since = timezone.now() - timedelta(hours=float(value))
        return queryset.filter(remote_updated_at__gte=since)

    def filter_waiting_min(self, queryset: QuerySet, name: str, value) -> QuerySet:
        if value is None:
            return queryset
        since = timezone.now() - timedelta(hours=float(value))
        return queryset.filter(waiting_since__lte=since)

    def filter_waiting_max(self, queryset: QuerySet, name: str, value) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(waiting_since__gt=timezone.now() - timedelta(hours=float(value)))

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
        if value == "me":
            return queryset.none()  # still "me": the person is linked to no agent id
        return queryset.filter(agent_id="" if value == "none" else value)


@functools.cache
def form_class_of(filterset_class: type[django_filters.FilterSet]) -> type[forms.Form]:
    """django-filter's form class for `filterset_class` (FilterSet.get_form_class), from copies
    of its filters so that theirs stay without a form field (each FilterSet copies them)."""
    filters = copy.deepcopy(filterset_class.base_filters)
    fields = {name: filter_.field for name, filter_ in filters.items()}
    # forms.Form: the base django-filter gives a FilterSet whose Meta names no form, as ours.
    return type(f"{filterset_class.__name__}Form", (forms.Form,), fields)


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
