"""Which mirrored chats a full sync flags as missing from BotPenguin (leads.sync.run)."""

from datetime import datetime

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from leads.models import Bot, Lead, LeadChange, SyncRun


def mark_missing(*, bot: Bot, kind: str, run: SyncRun, sync_time: datetime) -> int:
    """Flag the chats of `kind` that no sync has listed since the previous full listing began."""
    previous = (
        SyncRun.objects.filter(
            bot=bot,
            full=True,
            state=SyncRun.State.SUCCEEDED,
            kind__in=[kind, "all"],
        )
        .exclude(pk=run.pk)  # one sync of a bot at a time: the others have ended
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    if previous is None:
        return 0  # the first full listing: nothing to confirm an absence with yet
    # A chat BotPenguin accepted an edit of since the sync began exists, even if the listing
    # missed it: edited twice while it was read, it jumped behind the listing and then behind
    # the catch-up too.
    edited_meanwhile = LeadChange.objects.filter(lead=OuterRef("pk"), delivered_at__gte=sync_time)
    return (
        Lead.objects.filter(
            Q(synced_at__lt=previous) | Q(synced_at__isnull=True),
            bot=bot,
            is_lead__in=[kind == "lead"],
            missing_since__isnull=True,
        )
        .exclude(Exists(edited_meanwhile))
        .update(missing_since=timezone.now())
    )
