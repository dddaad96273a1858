from django.urls import path, register_converter

from leads.web.converters import UuidConverter
from leads.web.views import (
    assign,
    board,
    changes,
    detail,
    health,
    home,
    insights,
    macros,
    profile,
    sync,
    undo,
    workspace,
)
from leads.web.views import list as lead_list

app_name = "leads"

# Any uuid the mirror holds (`/`, `?`, `%`, `..`, unicode) as one canonical segment: see the
# converter for why this and not `path`.
register_converter(UuidConverter, "lead_uuid")

urlpatterns = [
    path("", home.home, name="home"),
    # The insights: a period's figures as charts (?_export=csv&chart=NAME: one chart's numbers).
    path("insights/", insights.insights, name="insights"),
    # The list (leads; ?type=non-lead for the other chats), its export (?_export=csv|xlsx),
    # in-place status change of a row and bulk actions.
    path("leads/", lead_list.LeadListView.as_view(), name="list"),
    path("leads/bulk/", lead_list.bulk_action, name="bulk"),
    path("leads/tags/", lead_list.tag_options, name="tag-options"),
    path("leads/<lead_uuid:uuid>/row-status/", lead_list.row_status, name="row-status"),
    # The pipeline board: the list's query as a column per status, a column's next cards, a move.
    path("board/", board.board, name="board"),
    path("board/more/", board.board_more, name="board-more"),
    path("board/<lead_uuid:uuid>/move/", board.board_move, name="board-move"),
    # The detail page and its forms.
    path("leads/<lead_uuid:uuid>/", detail.lead_detail, name="detail"),
    path("leads/<lead_uuid:uuid>/edit/status/", detail.edit_status, name="edit-status"),
    path("leads/<lead_uuid:uuid>/edit/note/", detail.add_note, name="add-note"),
    path("leads/<lead_uuid:uuid>/edit/tags/", detail.edit_tags, name="edit-tags"),
    path("leads/<lead_uuid:uuid>/edit/contact/", detail.edit_contact, name="edit-contact"),
    # Assign to a person of the lead's bot, to oneself ("me") or to nobody.
    path("leads/<lead_uuid:uuid>/assign/", assign.assign, name="assign"),
    path("leads/<lead_uuid:uuid>/macros/<int:pk>/apply/", macros.apply_to_lead, name="macro-apply"),
    # A macro on the list's selected or matching rows; undo of one's last edit (offered 10 s).
    path("macros/<int:pk>/apply/", macros.apply_bulk, name="macro-bulk"),
    path("undo/", undo.undo, name="undo"),
    path("undo/toast/", undo.undo_toast, name="undo-toast"),
    # The workspace: the panel's queues and views with counts, the new-leads bar's poll, and
    # the saved views page with its forms.
    path("new-leads/", workspace.new_leads, name="new-leads"),
    path("views/", workspace.saved_views, name="saved-views"),
    path("views/panel/", workspace.queues_panel, name="queues-panel"),
    path("views/new/", workspace.saved_view_create, name="saved-view-create"),
    path("views/<int:pk>/edit/", workspace.saved_view_edit, name="saved-view-edit"),
    path("views/<int:pk>/move/", workspace.saved_view_move, name="saved-view-move"),
    path("views/<int:pk>/delete/", workspace.saved_view_delete, name="saved-view-delete"),
    # The change log.
    path("activity/", changes.ActivityView.as_view(), name="activity"),
    path("changes/counts/", changes.change_counts, name="change-counts"),
    path("changes/retry-failed/", changes.changes_retry_failed, name="changes-retry-failed"),
    path("changes/<int:pk>/retry/", changes.change_retry, name="change-retry"),
    path("changes/<int:pk>/discard/", changes.change_discard, name="change-discard"),
    path("healthz", health.healthz, name="healthz"),
    # A person's own name, time zone and BotPenguin agent id.
    path("profile/", profile.profile, name="profile"),
    # Sync now (staff) and its progress.
    path("sync/now/", sync.sync_now, name="sync-now"),
    path("sync/status/", sync.sync_status, name="sync-status"),
]
