"""Every write to the mirror, one function per user action (HackSoft's services).

`edits` records and applies one person's edit to one lead and tries its PUT (through
`leads.delivery`, the queue that sends every edit); `bulk` applies one to many leads;
`assignment` assigns leads to people (the PUT's agentId); `people` links a person to their agent
id; `changes` retries or discards refused edits; `syncing` starts a background sync. This module is their public face: views, the admin and
the commands call `services.lead_set_status(...)` and never reach into the modules behind it
(the modules themselves import each other by full path, never through this one).
"""

from leads.services.assignment import (
    LINK_FIRST,
    AssignmentRefused,
    assign_refusal,
    lead_assign,
    lead_assign_to_me,
    leads_bulk_assign,
    may_assign_others,
    my_agent_id,
)
from leads.services.bulk import (
    BulkResult,
    leads_bulk_add_tag,
    leads_bulk_remove_tag,
    leads_bulk_set_status,
)
from leads.services.changes import change_discard, change_retry, changes_retry_failed
from leads.services.edits import (
    SAVED_PENDING,
    EditConflict,
    EditFailed,
    is_pending,
    lead_add_note,
    lead_add_tag,
    lead_remove_tag,
    lead_set_status,
    lead_update,
    lead_update_contact,
)
from leads.services.macros import MacroRefused, macro_apply, macro_note, macros_apply_bulk
from leads.services.people import ProfileRefused, agent_link, profile_update, time_zones
from leads.services.saved_views import lead_mark_seen
from leads.services.syncing import sync_start
from leads.services.undo import UndoRefused, UndoResult, changes_undo, token_changes, undo_token

__all__ = [
    "LINK_FIRST",
    "SAVED_PENDING",
    "AssignmentRefused",
    "BulkResult",
    "EditConflict",
    "EditFailed",
    "MacroRefused",
    "ProfileRefused",
    "UndoRefused",
    "UndoResult",
    "agent_link",
    "assign_refusal",
    "change_discard",
    "change_retry",
    "changes_retry_failed",
    "changes_undo",
    "is_pending",
    "lead_add_note",
    "lead_add_tag",
    "lead_assign",
    "lead_assign_to_me",
    "lead_mark_seen",
    "lead_remove_tag",
    "lead_set_status",
    "lead_update",
    "lead_update_contact",
    "leads_bulk_add_tag",
    "leads_bulk_assign",
    "leads_bulk_remove_tag",
    "leads_bulk_set_status",
    "macro_apply",
    "macro_note",
    "macros_apply_bulk",
    "may_assign_others",
    "my_agent_id",
    "profile_update",
    "sync_start",
    "time_zones",
    "token_changes",
    "undo_token",
]
