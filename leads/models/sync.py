"""The sync's log (one SyncRun per bot and sync), its lease per bot, and the workers' heartbeats."""

from django.db import models

from leads.models.bots import Bot


class SyncRun(models.Model):
    class State(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="sync_runs", null=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    kind = models.CharField(max_length=16, default="all")
    full = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING)
    pages = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    marked_missing = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # Newest updatedAt seen per listing type ({"lead": iso, "non-lead": iso}): the incremental
    # mark. Only a succeeded run's marks are used.
    marks = models.JSONField(default=dict, blank=True)
    progress = models.JSONField(default=dict, blank=True, help_text="pages and chats so far")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["state", "-started_at"], name="syncrun_state_started"),
            models.Index(fields=["bot", "state", "-started_at"], name="syncrun_bot_state_started"),
        ]

    def __str__(self) -> str:
        return f"Sync {self.pk} ({self.state})"

    @property
    def seconds(self) -> float | None:
        if not self.finished_at:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def summary(self) -> str:
        line = (
            f"{self.pages} pages, {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.skipped} skipped"
        )
        if self.full:
            line += f", {self.marked_missing} marked missing"
        if self.seconds is not None:
            line += f", {self.seconds:.1f} s"
        return line


class SyncLease(models.Model):
    """At most one sync of a bot at a time, across processes and machines: one row per bot, taken
    with one conditional UPDATE (free or expired), renewed while the sync runs and released when
    it ends, like a lead's delivery lease. A sync that crashed leaves it to expire; the next sync
    then takes it over (see leads.sync.lease.take_sync_lease)."""

    bot = models.OneToOneField(Bot, on_delete=models.CASCADE, related_name="sync_lease")
    owner = models.CharField(max_length=64, blank=True, help_text='The holder\'s token; "" = free')
    holder = models.CharField(max_length=255, blank=True, help_text="Who started the sync")
    run = models.ForeignKey(
        SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Sync lease held by {self.holder}" if self.owner else "Sync lease (free)"


class Heartbeat(models.Model):
    """The worker's last sign of life (one row per name), for /healthz."""

    name = models.CharField(max_length=64, unique=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.at}"
