"""Reads for the views. Querysets are built per call, never at import time."""

from django.db.models import Count, Q

from leads.models import Lead, SyncRun


def mirror_counts() -> dict[str, int]:
    """How many chats the mirror holds, by kind, in one query."""
    return Lead.objects.aggregate(
        leads=Count("id", filter=Q(is_lead=True)),
        other_chats=Count("id", filter=Q(is_lead=False)),
        missing=Count("id", filter=Q(missing_since__isnull=False)),
    )


def last_sync() -> SyncRun | None:
    return SyncRun.objects.order_by("-started_at", "-id").first()


def last_successful_sync() -> SyncRun | None:
    return (
        SyncRun.objects.filter(state=SyncRun.State.SUCCEEDED).order_by("-started_at", "-id").first()
    )
