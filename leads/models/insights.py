"""The insights' daily rollup: per bot, calendar day (in the installation's TIME_ZONE) and
agent, what the insights page sums over a period instead of reading every lead and change.

Maintained by the sync, the delivery and the one edit path, never by a page view: they mark the
days a write touched (InsightsDirtyDay), and leads.insights.rollup.refresh recomputes those days
from the leads and their status history. Until it has, the page computes the dirty days live, so
the figures are always those of the mirror as it is."""

from __future__ import annotations

from django.db import models

from leads.models.bots import Bot


class InsightsDay(models.Model):
    """One bot's day for one agent ("" for nobody): what the insights sum over a period (and,
    for the waiting_* counts, over every day). Durations are seconds from arrival, rounded as
    leads.insights.histogram.rounded says, kept as [seconds, leads] pairs (seconds null for a
    lead without an arrival date)."""

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    agent_id = models.CharField(max_length=255, blank=True)
    # Leads and other chats that arrived this day.
    leads = models.PositiveIntegerField(default=0)
    other_chats = models.PositiveIntegerField(default=0)
    # [tag key, leads, the tag's name] among the leads that arrived this day.
    tags = models.JSONField(default=list)
    # [seconds, leads] whose first action (away from Open) happened this day.
    first_actions = models.JSONField(default=list)
    # [seconds, leads] Closed now whose last closing happened this day.
    closings = models.JSONField(default=list)
    # Leads whose waiting began this day (Lead.waiting_since), by their status now.
    waiting_open = models.PositiveIntegerField(default=0)
    waiting_inprogress = models.PositiveIntegerField(default=0)
    waiting_review = models.PositiveIntegerField(default=0)
    waiting_onhold = models.PositiveIntegerField(default=0)
    waiting_dependancy = models.PositiveIntegerField(default=0)
    waiting_closed = models.PositiveIntegerField(default=0)
    waiting_none = models.PositiveIntegerField(default=0)  # without a status

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bot", "day", "agent_id"], name="insightsday_unique")
        ]
        indexes = [models.Index(fields=["day", "bot"], name="insightsday_day_bot")]

    def __str__(self) -> str:
        return f"{self.bot_id} {self.day} {self.agent_id or '-'}"


# The column of each status ("" for none) among InsightsDay's waiting counts.
WAITING_COLUMNS = {
    "OPEN": "waiting_open",
    "INPROGRESS": "waiting_inprogress",
    "REVIEW": "waiting_review",
    "ONHOLD": "waiting_onhold",
    "DEPENDANCY": "waiting_dependancy",
    "CLOSED": "waiting_closed",
    "": "waiting_none",
}


class InsightsDirtyDay(models.Model):
    """A (bot, day) whose rollup rows are out of date since `marked_at`."""

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    marked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bot", "day"], name="insightsdirtyday_unique")
        ]

    def __str__(self) -> str:
        return f"{self.bot_id} {self.day}"


class InsightsRollupState(models.Model):
    """One row: the time zone the rollup's days are counted in. A TIME_ZONE other than this
    means the rollup is rebuilt (every day marked dirty) before the page uses it."""

    zone = models.CharField(max_length=64)
    built_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.zone
