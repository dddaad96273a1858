from django.urls import path

from leads import views

app_name = "leads"

urlpatterns = [
    path("", views.home, name="home"),
    # The list (leads; ?type=non-lead for the other chats), its export (?_export=csv|xlsx),
    # in-place status change of a row and bulk actions.
    path("leads/", views.LeadListView.as_view(), name="list"),
    path("leads/bulk/", views.bulk_action, name="bulk"),
    path("leads/tags/", views.tag_options, name="tag-options"),
    path("leads/<str:uuid>/row-status/", views.row_status, name="row-status"),
    # The detail page and its forms.
    path("leads/<str:uuid>/", views.lead_detail, name="detail"),
    path("leads/<str:uuid>/edit/status/", views.edit_status, name="edit-status"),
    path("leads/<str:uuid>/edit/note/", views.add_note, name="add-note"),
    path("leads/<str:uuid>/edit/tags/", views.edit_tags, name="edit-tags"),
    path("leads/<str:uuid>/edit/contact/", views.edit_contact, name="edit-contact"),
    # The change log.
    path("activity/", views.ActivityView.as_view(), name="activity"),
    path("changes/counts/", views.change_counts, name="change-counts"),
    path("changes/retry-failed/", views.changes_retry_failed, name="changes-retry-failed"),
    path("changes/<int:pk>/retry/", views.change_retry, name="change-retry"),
    path("changes/<int:pk>/discard/", views.change_discard, name="change-discard"),
    path("healthz", views.healthz, name="healthz"),
    # Sync now (staff) and its progress.
    path("sync/now/", views.sync_now, name="sync-now"),
    path("sync/status/", views.sync_status, name="sync-status"),
]
