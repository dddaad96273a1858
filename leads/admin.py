"""Django admin. Saving a lead goes through leads.services (the PUT is sent first); a refusal is
shown as a form error and nothing is saved. Leads are never added or deleted here: they come
from BotPenguin, and a chat BotPenguin no longer lists is marked missing, not deleted."""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.http import Http404

from leads import services
from leads.accounts.permissions import can_resolve_changes
from leads.macro_admin import MacroAdmin
from leads.models import Bot, Lead, LeadChange, Macro, OverdueRule, Status, SyncRun
from leads.people_admin import AssignedToMixin, PeopleUserAdmin
from leads.selectors import overdue
from leads.selectors.bots import visibility
from leads.web.forms import (
    clean_picture_url,
    clean_tag,
    dial_code_field,
    email_field,
    phone_field,
    picture_field,
)

ADMIN_EDITABLE = ("name", "email", "dial_code", "phone", "picture", "status", "agent_id")


class BotScopedAdmin(admin.ModelAdmin):
    """Rows of the bots the person sees (leads.selectors.bots) only, through `bot_field`; the
    page of any other row is a 404 (never the admin's "does not exist" redirect of a row that
    might exist, nor a 403)."""

    bot_field = "bot_id"

    def get_queryset(self, request):
        return self.scoped(request, super().get_queryset(request))

    def scoped(self, request, queryset):
        return visibility(request.user).scope.apply(queryset, self.bot_field)

    def require_row(self, request, object_id) -> None:
        if object_id and self.get_object(request, unquote(object_id)) is None:
            raise Http404("No such object.")

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        self.require_row(request, object_id)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self.require_row(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self.require_row(request, object_id)
        return super().delete_view(request, object_id, extra_context)


class VisibleBotFilter(admin.SimpleListFilter):
    """The changelists' bot filter, listing only the bots the person sees."""

    title = "bot"
    parameter_name = "bot"
    bot_field = "bot_id"

    def lookups(self, request, model_admin):
        seen = visibility(request.user)
        return [(str(bot.id), bot.name) for bot in seen.bots] if seen.several else []

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(**{self.bot_field: int(value)})
        return queryset


class ChangeBotFilter(VisibleBotFilter):
    bot_field = "lead__bot_id"


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

    # BotPenguin's reason when it refused this very edit (set by LeadAdmin.get_form).
    refusal = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
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

    def changes(self) -> dict:
        """The editable values of a valid form, as services.lead_update takes them."""
        changes = {name: self.cleaned_data[name] for name in ADMIN_EDITABLE}
        changes["tags"] = self.cleaned_data.get("tags_text", [])
        return changes

    def clean(self):
        data = super().clean()
        if self.refusal:
            raise forms.ValidationError(f"BotPenguin did not accept the change: {self.refusal}")
        return data


@admin.register(Lead)
class LeadAdmin(AssignedToMixin, BotScopedAdmin):
    form = LeadAdminForm
    list_display = (
        "__str__",
        "bot",
        "email",
        "status",
        "assigned_to",
        "is_lead",
        "remote_updated_at",
        "missing_since",
    )
    list_filter = (
        VisibleBotFilter,
        "status",
        "is_lead",
        ("missing_since", admin.EmptyFieldListFilter),
    )
    list_select_related = ("bot",)
    search_fields = ("name", "email", "phone", "uuid")
    ordering = ("-remote_updated_at", "-id")
    list_per_page = 100
    show_full_result_count = False
    readonly_fields = (
        "uuid",
        "bot",
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
        "assigned_to",  # shown beside agent_id, not among BotPenguin's fields
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
                    ("agent_id", "assigned_to"),
                    "tags_text",
                )
            },
        ),
        ("From BotPenguin (read-only)", {"fields": readonly_fields[1:-1]}),
    )

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)
        refusal = getattr(request, "lead_edit_refusal", "")
        if not refusal:
            return form_class
        return type(form_class.__name__, (form_class,), {"refusal": refusal})

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Django runs a POST in one transaction, and no transaction may stay open across the PUT
        # (on SQLite it would hold the write lock): the edit is sent first, in the services' own
        # short transactions, and the admin then shows its outcome.
        if request.method == "POST" and object_id and "_saveasnew" not in request.POST:
            self.require_row(request, object_id)
            self.send_edit(request, object_id)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def send_edit(self, request, object_id: str) -> None:
        """Send a valid form's edit through the services; a refusal is kept on the request for
        the form to show (and the admin then saves nothing)."""
        lead = self.get_object(request, object_id)
        if lead is None or not self.has_change_permission(request, lead):
            return  # the admin answers as it does for any object it cannot change
        form = super().get_form(request, lead)(request.POST, request.FILES, instance=lead)
        if not form.is_valid():
            return  # the admin shows the same errors
        try:
            services.lead_update(lead=lead, user=request.user, changes=form.changes())
        except services.EditFailed as e:
            request.lead_edit_refusal = e.message

    def save_model(self, request, obj, form, change):
        """Already sent and applied through services.lead_update by send_edit."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SyncRun)
class SyncRunAdmin(BotScopedAdmin):
    list_display = (
        "started_at",
        "bot",
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
    list_filter = (VisibleBotFilter, "state", "kind", "full")
    list_select_related = ("bot",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LeadChange)
class LeadChangeAdmin(BotScopedAdmin):
    bot_field = "lead__bot_id"
    list_display = ("created_at", "lead", "user", "action", "state", "attempts", "last_error")
    list_filter = (ChangeBotFilter, "state", "action")
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


class BotAdminForm(forms.ModelForm):
    # Write-only: a password input never rendered with a value; empty keeps the stored token.
    new_token = forms.CharField(
        label="New API token",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep the current token. A token is never shown once saved.",
    )

    class Meta:
        model = Bot
        fields = ("name", "api_url", "remote_bot_id", "customer_id", "active", "members")


@admin.register(Bot)
class BotAdmin(BotScopedAdmin):
    """Superusers manage every bot; lead admins the settings and team of the bots they see,
    never the token. The token is write-only here: set through "New API token", never shown."""

    form = BotAdminForm
    bot_field = "id"
    list_display = ("name", "remote_bot_id", "customer_id", "active", "token_state")
    search_fields = ("name",)
    filter_horizontal = ("members",)

    @admin.display(description="API token")
    def token_state(self, obj: Bot) -> str:
        if obj.from_environment:
            return "from the environment (BOTPENGUIN_API_TOKEN)"
        return "set" if obj.has_token else "not set"

    @staticmethod
    def may_set_token(request, obj: Bot | None) -> bool:
        return request.user.is_superuser and not (obj is not None and obj.from_environment)

    def get_fields(self, request, obj=None):
        fields = ["name", "api_url", "remote_bot_id", "customer_id", "active", "members"]
        fields.append("new_token" if self.may_set_token(request, obj) else "token_state")
        return fields

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.from_environment:
            # Read from the BOTPENGUIN_* settings when used (leads.bots.config), never stored.
            return ("name", "api_url", "remote_bot_id", "customer_id", "token_state")
        return ("token_state",)

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)
        if self.may_set_token(request, obj):
            return form_class
        # Not even a field a posted value could reach.
        return type(form_class.__name__, (form_class,), {"new_token": None})

    def save_model(self, request, obj, form, change):
        token = form.cleaned_data.get("new_token")
        if token and self.may_set_token(request, obj if change else None):
            obj.set_token(token)
        super().save_model(request, obj, form, change)

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


# Triage macros: the form's rules and the bot scoping are in leads/macro_admin.py.
admin.site.register(Macro, MacroAdmin)
# Users with their BotPenguin agent id and time zone (leads/people_admin.py).
admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), PeopleUserAdmin)


class OverdueRuleAdmin(admin.ModelAdmin):
    """How long a lead may wait in each status before the list marks it overdue (lead admins).
    A status without a rule never makes a lead overdue; saving one refreshes the Overdue queue
    (leads.selectors.overdue)."""

    list_display = ("status", "after_minutes", "after")
    list_editable = ("after_minutes",)
    ordering = ("status",)

    @admin.display(description="Overdue after")
    def after(self, rule: OverdueRule) -> str:
        return overdue.minutes_text(rule.after_minutes)


admin.site.register(OverdueRule, OverdueRuleAdmin)
