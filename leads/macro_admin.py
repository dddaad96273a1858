"""The Django admin of triage macros (registered in leads.admin): lead admins define them for
the bots they see; a macro for every bot takes someone who sees every bot."""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin
from django.db.models import Q

from leads.models import Macro
from leads.selectors import people
from leads.selectors.bots import visibility
from leads.selectors.macros import macro_summary
from leads.web.forms import clean_tag

# Keys the list and the lead page already give a meaning to (static/js/list.js: j/k move, x
# selects, 1–6 set a status, a assigns to me; / searches, ? shows the shortcuts).
RESERVED_KEYS = frozenset("123456jkxa")
PLACEHOLDERS = ("name", "email", "agent", "date")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def _tags(text: str) -> list[str]:
    tags, seen = [], set()
    for part in text.split(","):
        if part.strip():
            tag = clean_tag(part)
            if tag.casefold() not in seen:
                seen.add(tag.casefold())
                tags.append(tag)
    return tags


class MacroAdminForm(forms.ModelForm):
    add_tags = forms.CharField(required=False, help_text="Comma-separated", label="Add tags")
    remove_tags = forms.CharField(required=False, help_text="Comma-separated", label="Remove tags")

    class Meta:
        model = Macro
        fields = (
            "name",
            "bot",
            "key",
            "position",
            "status",
            "assign",
            "agent_id",
            "add_tags",
            "remove_tags",
            "note_title",
            "note_template",
        )

    # The person saving (set by MacroAdmin.get_form): whether they may leave the bot blank.
    user = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("add_tags", "remove_tags"):
            self.initial[name] = ", ".join(getattr(self.instance, name) or [])

    def clean_add_tags(self) -> list[str]:
        return _tags(self.cleaned_data.get("add_tags", ""))

    def clean_remove_tags(self) -> list[str]:
        return _tags(self.cleaned_data.get("remove_tags", ""))

    def clean_key(self) -> str:
        key = self.cleaned_data.get("key", "").strip().lower()
        if key and not re.fullmatch(r"[a-z0-9]", key):
            raise forms.ValidationError("A key is one letter or digit.")
        if key in RESERVED_KEYS:
            raise forms.ValidationError(
                f'"{key}" is already a shortcut (1–6 set a status; j, k, x and a move, select '
                "and assign): choose another key."
            )
        return key

    def clean_note_template(self) -> str:
        text = self.cleaned_data.get("note_template", "")
        unknown = sorted({m for m in PLACEHOLDER.findall(text) if m not in PLACEHOLDERS})
        if unknown:
            raise forms.ValidationError(
                f"Unknown placeholder {{{unknown[0]}}}: use {{name}}, {{email}}, {{agent}} "
                "or {date}."
            )
        return text

    def clean(self):
        data = super().clean()
        self._check_actions(data)
        self._check_agent(data)
        self._check_key(data)
        if data.get("bot") is None and self.user is not None:
            if not visibility(self.user).every_bot:
                self.add_error(
                    "bot", "Choose the bot: a macro for every bot is for someone who sees them all."
                )
        return data

    def _check_actions(self, data: dict) -> None:
        actions = (
            data.get("status"),
            data.get("assign"),
            data.get("add_tags"),
            data.get("remove_tags"),
            (data.get("note_title") or "").strip() or (data.get("note_template") or "").strip(),
        )
        if not any(actions):
            raise forms.ValidationError(
                "A macro needs at least one action: a status, an assignment, tags to add or "
                "remove, or a note."
            )
        both = {t.casefold() for t in data.get("add_tags") or []} & {
            t.casefold() for t in data.get("remove_tags") or []
        }
        if both:
            self.add_error("remove_tags", f'"{sorted(both)[0]}" is both added and removed.')

    def _check_agent(self, data: dict) -> None:
        agent_id = (data.get("agent_id") or "").strip()
        if data.get("assign") != Macro.Assign.AGENT:
            data["agent_id"] = ""
        elif not agent_id:
            self.add_error("agent_id", 'Give the agent id to assign to ("The agent below").')
        elif people.person_by_agent_id(agent_id) is None:
            self.add_error("agent_id", "No BotPanel user is linked to this agent id.")
        else:
            data["agent_id"] = agent_id

    def _check_key(self, data: dict) -> None:
        """Two macros offered on the same lead (same bot, or either for every bot) may not
        share a key."""
        key, bot = data.get("key"), data.get("bot")
        if not key:
            return
        clash = Macro.objects.filter(key=key).exclude(pk=self.instance.pk)
        if bot is not None:
            clash = clash.filter(Q(bot=None) | Q(bot=bot))
        taken = clash.order_by("id").first()
        if taken is not None:
            self.add_error("key", f'The key "{key}" is already the macro "{taken.name}"\'s.')


class MacroAdmin(admin.ModelAdmin):
    form = MacroAdminForm
    list_display = ("name", "bot", "key", "summary", "position")
    list_display_links = ("name",)
    list_select_related = ("bot",)
    ordering = ("position", "name", "id")
    search_fields = ("name",)

    @admin.display(description="What it does")
    def summary(self, macro: Macro) -> str:
        return macro_summary(macro)

    def get_queryset(self, request):
        """Macros for every bot, and those of the bots the person sees."""
        seen = visibility(request.user)
        macros = super().get_queryset(request)
        if seen.every_bot:
            return macros
        return macros.filter(Q(bot=None) | Q(bot_id__in=seen.ids))

    def has_change_permission(self, request, obj=None) -> bool:
        """A macro for every bot is changed by someone who sees every bot."""
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.bot_id is not None or self._every_bot(request))

    def has_delete_permission(self, request, obj=None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or obj.bot_id is not None or self._every_bot(request))

    def _every_bot(self, request) -> bool:
        return visibility(request.user).every_bot

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "bot":
            kwargs["queryset"] = db_field.related_model.objects.filter(
                pk__in=visibility(request.user).ids
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.user = request.user
        return form

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
