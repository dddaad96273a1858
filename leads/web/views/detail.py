"""The lead detail page and its edit forms. Each form is its own POST endpoint; on success it
redirects back to the page (keeping the list's filter), on failure it re-renders the page with
the error next to the field (or at the top of the form for an API refusal) and the input kept."""

import json

from django.conf import settings
from django.contrib import messages
from django.forms.models import model_to_dict
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from leads import services
from leads.accounts.permissions import (
    EDIT_CONTACT,
    TRIAGE,
    VIEW,
    can_edit_contact,
    can_resolve_changes,
    can_view_raw,
    permission_required,
)
from leads.botpenguin.records import STATUS_LABELS
from leads.models import Lead, LeadChange
from leads.selectors import lists as list_queries
from leads.selectors.bots import list_scope
from leads.web import display
from leads.web.forms import (
    AddTagForm,
    AttributeFormSet,
    ContactForm,
    NoteForm,
    RemoveTagForm,
    StatusForm,
)
from leads.web.scope import lead_or_404, seen
from leads.web.views.list import filter_query_string


def _detail_url(request: HttpRequest, lead: Lead) -> str:
    query = request.POST.get("query") if request.method == "POST" else None
    query = query if query is not None else filter_query_string(request.GET)
    url = reverse("leads:detail", args=[lead.uuid])
    return f"{url}?{query}" if query else url


def _render(request: HttpRequest, lead: Lead, status: int = 200, **forms) -> HttpResponse:
    query = (
        request.POST.get("query", "")
        if request.method == "POST"
        else filter_query_string(request.GET)
    )
    params = QueryDict(query)
    visible = seen(request)
    previous, following = list_queries.neighbours(
        lead=lead, params=params, scope=list_scope(visible, params)
    )
    suffix = f"?{query}" if query else ""
    editable = can_edit_contact(request.user)
    conflict = forms.get("conflict")
    if conflict is not None:
        version = conflict.version
    elif request.method == "POST" and request.POST.get("version", "").isdigit():
        version = int(request.POST["version"])
    else:
        version = lead.version
    context = {
        "version": version,
        "lead": lead,
        "lead_label": str(lead) if lead.name or lead.email else display.visitor(lead.uuid),
        "lead_picture": lead.picture_url if settings.BOTPANEL_THIRD_PARTY_IMAGES else "",
        "contact": display.contact_links(lead.email, lead.dial_code, lead.phone),
        # The forms post to this very lead: its bot picks it where another of the person's
        # bots holds the same uuid (web.scope.lead_or_404).
        "bot_suffix": f"?bot={lead.bot_id}" if visible.several else "",
        "bot_name": lead.bot.name if visible.several else "",
        "query": query,
        "suffix": suffix,
        "list_url": reverse("leads:list") + suffix,
        "previous_url": reverse("leads:detail", args=[previous]) + suffix if previous else "",
        "next_url": reverse("leads:detail", args=[following]) + suffix if following else "",
        "notes": list(reversed(lead.notes)),
        "can_edit_contact": editable,
        "can_resolve": can_resolve_changes(request.user),
        "raw_json": json.dumps(lead.raw, indent=2, ensure_ascii=False)
        if can_view_raw(request.user)
        else "",
        "history": lead.changes.select_related("user")[:20],
        "status_form": forms.get("status_form") or StatusForm(initial={"status": lead.status}),
        "note_form": forms.get("note_form") or NoteForm(),
        "tag_form": forms.get("tag_form") or AddTagForm(),
        "contact_form": forms.get("contact_form")
        or ContactForm(initial=model_to_dict(lead, fields=ContactForm.base_fields)),
        "attribute_formset": forms.get("attribute_formset")
        or AttributeFormSet(initial=lead.attributes, prefix="attr"),
        "api_error": forms.get("api_error", {}),
        "conflict": forms.get("conflict"),
        "conflict_rows": _conflict_rows(forms.get("conflict")),
        "open_changes": lead.changes.filter(state__in=LeadChange.OPEN_STATES).order_by("id"),
    }
    return render(request, "leads/detail.html", context, status=status)


def _conflict_rows(conflict) -> list[tuple[str, object, object]]:
    if conflict is None:
        return []
    return [
        (name.replace("_", " "), _show(name, conflict.current[name]), _show(name, value))
        for name, value in conflict.yours.items()
    ]


def _show(name: str, value) -> str:
    if name == "status":
        return STATUS_LABELS.get(value, "—")
    if isinstance(value, list):
        return ", ".join(
            f"{v.get('key')}={v.get('value')}" if isinstance(v, dict) else str(v) for v in value
        )
    return str(value) if value else "—"


@permission_required(VIEW)
def lead_detail(request: HttpRequest, uuid: str) -> HttpResponse:
    lead = lead_or_404(request, uuid)
    services.lead_mark_seen(lead=lead, user=request.user)  # no longer new for them
    return _render(request, lead)


def _done(request, lead, change, what: str) -> HttpResponse:
    if change is None:
        messages.info(request, f"Nothing to change: {what} was already so.")
    elif services.is_pending(change):
        messages.warning(request, f"{services.SAVED_PENDING} ({what})")
    else:
        messages.success(request, f"Saved: {what}.")
    return redirect(_detail_url(request, lead))


def _version(request: HttpRequest) -> int | None:
    try:
        return int(request.POST["version"])
    except (KeyError, ValueError):
        return None


@require_POST
@permission_required(TRIAGE)
def edit_status(request: HttpRequest, uuid: str) -> HttpResponse:
    lead = lead_or_404(request, uuid)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _render(request, lead, 400, status_form=form)
    try:
        change = services.lead_set_status(
            lead=lead,
            status=form.cleaned_data["status"],
            user=request.user,
            base_version=_version(request),
        )
    except services.EditFailed as e:
        return _render(request, lead, status_form=form, api_error={"status": e.message})
    except services.EditConflict as conflict:
        return _render(request, lead, 409, status_form=form, conflict=conflict)
    return _done(request, lead, change, f"status {lead.status_label}")


@require_POST
@permission_required(TRIAGE)
def add_note(request: HttpRequest, uuid: str) -> HttpResponse:
    lead = lead_or_404(request, uuid)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _render(request, lead, 400, note_form=form)
    try:
        change = services.lead_add_note(
            lead=lead,
            title=form.cleaned_data["title"],
            description=form.cleaned_data["description"],
            user=request.user,
        )
    except services.EditFailed as e:
        return _render(request, lead, note_form=form, api_error={"note": e.message})
    return _done(request, lead, change, "note added")


@require_POST
@permission_required(TRIAGE)
def edit_tags(request: HttpRequest, uuid: str) -> HttpResponse:
    lead = lead_or_404(request, uuid)
    if "remove" in request.POST:
        remove_form = RemoveTagForm(request.POST)
        if not remove_form.is_valid():
            return _render(request, lead, 400)
        tag = remove_form.cleaned_data["remove"]
        try:
            change = services.lead_remove_tag(lead=lead, tag=tag, user=request.user)
        except services.EditFailed as e:
            return _render(request, lead, api_error={"tags": e.message})
        return _done(request, lead, change, f'tag "{tag}" removed')
    form = AddTagForm(request.POST, existing=lead.tags)
    if not form.is_valid():
        return _render(request, lead, 400, tag_form=form)
    try:
        change = services.lead_add_tag(lead=lead, tag=form.cleaned_data["tag"], user=request.user)
    except services.EditFailed as e:
        return _render(request, lead, tag_form=form, api_error={"tags": e.message})
    return _done(request, lead, change, f'tag "{form.cleaned_data["tag"]}" added')


@require_POST
@permission_required(EDIT_CONTACT)
def edit_contact(request: HttpRequest, uuid: str) -> HttpResponse:
    lead = lead_or_404(request, uuid)
    form = ContactForm(request.POST)
    formset = AttributeFormSet(request.POST, prefix="attr")
    if not (form.is_valid() & formset.is_valid()):
        return _render(request, lead, 400, contact_form=form, attribute_formset=formset)
    try:
        # The form's fields are the service's contact arguments, by the same names.
        change = services.lead_update_contact(
            lead=lead,
            user=request.user,
            **form.cleaned_data,
            attributes=formset.attributes(),
            base_version=_version(request),
        )
    except services.EditConflict as conflict:
        return _render(
            request, lead, 409, contact_form=form, attribute_formset=formset, conflict=conflict
        )
    except services.EditFailed as e:
        return _render(
            request,
            lead,
            contact_form=form,
            attribute_formset=formset,
            api_error={"contact": e.message},
        )
    return _done(request, lead, change, "contact details")
