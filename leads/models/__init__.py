"""BotPanel's data: the bots, the mirror of their chats, the change log and the sync log.

One module per concern; everything is importable from `leads.models`."""

from leads.models.accounts import AgentProfile, PasswordChangeRequired
from leads.models.bots import Bot
from leads.models.changes import LeadChange
from leads.models.history import StatusChange
from leads.models.insights import InsightsDay, InsightsDirtyDay, InsightsRollupState
from leads.models.leads import (
    EDITABLE_FIELDS,
    Lead,
    LeadTag,
    Status,
    initials_of,
    phone_text,
    tag_rows,
)
from leads.models.sync import Heartbeat, SyncLease, SyncRun
from leads.models.workspace import LeadSeen, Macro, OverdueRule, SavedView

__all__ = [
    "EDITABLE_FIELDS",
    "AgentProfile",
    "Bot",
    "Heartbeat",
    "InsightsDay",
    "InsightsDirtyDay",
    "InsightsRollupState",
    "Lead",
    "LeadChange",
    "LeadSeen",
    "LeadTag",
    "Macro",
    "OverdueRule",
    "PasswordChangeRequired",
    "SavedView",
    "Status",
    "StatusChange",
    "SyncLease",
    "SyncRun",
    "initials_of",
    "phone_text",
    "tag_rows",
]
