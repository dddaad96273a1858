"""The Django admin's side of people: the user page links a user to their BotPenguin agent id
and time zone (an inline AgentProfile), and the lead pages show who a lead is assigned to by
name (`AssignedToMixin`). Registered from leads/admin.py."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.html import format_html

from leads.models import AgentProfile
from leads.selectors import people
from leads.services.people import ProfileRefused, check_agent_id, check_time_zone, time_zones


class AgentProfileForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        required=False,
        choices=lambda: [("", "The server's"), *((zone, zone) for zone in time_zones())],
        help_text="Dates on their pages are shown in it.",
    )

    class Meta:
        model = AgentProfile
        fields = ("agent_id", "time_zone")

    def clean_agent_id(self) -> str:
        try:
            # A user being added has no row yet: any holder of the id is someone else.
            user = self.instance.user if self.instance.user_id else None
            return check_agent_id(self.cleaned_data.get("agent_id", ""), user=user)
        except ProfileRefused as e:
            raise forms.ValidationError(e.message) from e

    def clean_time_zone(self) -> str:
        try:
            return check_time_zone(self.cleaned_data.get("time_zone", ""))
        except ProfileRefused as e:
            raise forms.ValidationError(e.message) from e


class AgentProfileInline(admin.StackedInline):
    model = AgentProfile
    form = AgentProfileForm
    can_delete = False
    max_num = 1
    verbose_name = verbose_name_plural = "BotPenguin agent"


class PeopleUserAdmin(UserAdmin):
    """Django's user admin with the person's agent id and time zone."""

    inlines = (*UserAdmin.inlines, AgentProfileInline)
    list_display = (*UserAdmin.list_display, "agent_id")
    list_select_related = ("agent_profile",)
    search_fields = (*UserAdmin.search_fields, "agent_profile__agent_id")

    @admin.display(description="BotPenguin agent id", ordering="agent_profile__agent_id")
    def agent_id(self, user) -> str:
        profile = getattr(user, "agent_profile", None)
        return profile.agent_id if profile is not None else ""


class AssignedToMixin:
    """A lead admin's "Assigned to" column and field: the person's name, the id in a tooltip."""

    @admin.display(description="Assigned to", ordering="agent_id")
    def assigned_to(self, lead) -> str:
        label = people.agent_label(lead.agent_id)
        if not lead.agent_id:
            return label.text
        return format_html('<span title="{}">{}</span>', label.title, label.text)
