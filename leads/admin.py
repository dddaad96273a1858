"""Django admin. Saving a lead goes through leads.services (the PUT is sent first); a refusal is
shown as a form error and nothing is saved. Leads are never added or deleted here: they come
from BotPenguin, and a chat BotPenguin no longer lists is marked missing, not deleted."""

from django import forms
from django.contrib import admin

from leads import services
from leads.accounts.permissions import can_resolve_changes
from leads.models import Lead, LeadChange, Status, SyncRun
from leads.web.forms import (
    clean_picture_url,
    clean_tag,
    dial_code_field,
    email_field,
    phone_field,
    picture_field,
)

ADMIN_EDITABLE = ("name", "email", "dial_code", "phone", "picture", "status", "agent_id")


class LeadAdminForm(forms.ModelForm):
    email = email_field()
    dial_code = dial_code_field()
    phone = phone_field()
    picture = picture_field()
    status = forms.ChoiceField(choices=Status.choices)
    name = forms.CharField(required=False, max_length=200)
    tags_text = forms.CharField(
        required=False, label="Tags", help_text="Comma-separated; each 1–50 characters."
    )

    class Meta:
        model = Lead
        fields = ADMIN_EDITABLE

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = None
        if self.instance.pk:
            self.fields["tags_text"].initial = ", ".join(self.instance.tags)

    def clean_picture(self) -> str:
        return clean_picture_url(self.cleaned_data.get("picture", ""))

    def clean_tags_text(self) -> list[str]:
        tags, seen = [], set()
        for part in self.cleaned_data.get("tags_text", "").split(","):
            if not part.strip():
                continue
            tag = clean_tag(part)
            if tag.casefold() in seen:
                raise forms.ValidationError(f'The tag "{tag}" is there twice.')
            seen.add(tag.casefold())
            tags.append(tag)
        return tags

    def clean(self):
        data = super().clean()
        if self.errors or not self.instance.pk:
            return data
        changes = {name: data[name] for name in ADMIN_EDITABLE if name in data}
        changes["tags"] = data.get("tags_text", [])
        # Send the edit now (the one path every edit takes): a refusal becomes a form error and
        # nothing is saved. The admin's save_model then has nothing left to write.
        try:
            services.lead_update(lead=self.instance, user=self.user, changes=changes)
        except services.EditFailed as e:
            raise forms.ValidationError(f"BotPenguin did not accept the change: {e.message}") from e
        return data


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    form = LeadAdminForm
    list_display = (
        "__str__",
        "email",
        "status",
        "agent_id",
        "is_lead",
        "remote_updated_at",
        "missing_since",
    )
    list_filter = ("status", "is_lead", ("missing_since", admin.EmptyFieldListFilter))
    search_fields = ("name", "email", "phone", "uuid")
    ordering = ("-remote_updated_at", "-id")
    list_per_page = 100
    show_full_result_count = False
    readonly_fields = (
        "uuid",
        "bot_id",
        "customer_id",
        "remote_id",
        "is_lead",
        "notes",
        "attributes",
        "city",
        "country",
        "gender",
        "last_message_at",
        "last_message_by",
        "last_message_text",
        "last_seen_at",
        "is_online",
        "website_visits",
        "remote_created_at",
        "remote_updated_at",
        "synced_at",
        "missing_since",
        "version",
        "raw",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "uuid",
                    "name",
                    "email",
                    ("dial_code", "phone"),
                    "picture",
                    "status",
                    "agent_id",
                    "tags_text",
                )
            },
        ),
        ("From BotPenguin (read-only)", {"fields": readonly_fields[2:]}),
    )

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)

        class RequestForm(form_class):
            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                self.user = request.user

        return RequestForm

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Django wraps a POST in one transaction. The edit calls BotPenguin, and no transaction
        # may stay open across an HTTP call (on SQLite it would hold the write lock), so run
        # without it: the service writes in its own short transactions.
        return self._changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        """Already applied through services.lead_update in the form's validation."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = (
        "started_at",
        "kind",
        "full",
        "state",
        "pages",
        "created",
        "updated",
        "unchanged",
        "skipped",
        "marked_missing",
        "error",
    )
    list_filter = ("state", "kind", "full")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LeadChange)
class LeadChangeAdmin(admin.ModelAdmin):
    list_display = ("created_at", "lead", "user", "action", "state", "attempts", "last_error")
    list_filter = ("state", "action")
    search_fields = ("lead__uuid", "lead__name", "user__username")
    list_select_related = ("lead", "user")
    actions = ["retry_changes", "discard_changes"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_resolve_permission(self, request) -> bool:
        return can_resolve_changes(request.user)

    @admin.action(description="Retry the selected failed edits", permissions=["resolve"])
    def retry_changes(self, request, queryset):
        count = self._resolve(request, queryset, services.change_retry)
        self.message_user(request, f"{count} failed edit(s) sent again.")

    @admin.action(description="Discard the selected failed edits", permissions=["resolve"])
    def discard_changes(self, request, queryset):
        count = self._resolve(request, queryset, services.change_discard)
        self.message_user(request, f"{count} failed edit(s) discarded.")

    @staticmethod
    def _resolve(request, queryset, service) -> int:
        """Apply a resolve service to the selected changes that are failed, oldest first."""
        failed = list(queryset.filter(state=LeadChange.State.FAILED).order_by("id"))
        for change in failed:
            service(change=change, user=request.user)
        return len(failed)
