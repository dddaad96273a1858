"""The lead detail page and its edit forms. Each form is its own POST endpoint that redirects
back to the page (keeping the list's filter): on success with a message, on failure with the
form kept in the session (_keep), so the page shows the error next to the field (or at the top
of the form for an API refusal, or the conflict) and the input kept, and a reload re-posts
nothing (Post/Redirect/Get)."""

import json
from types import SimpleNamespace

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
from leads.selectors import history
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
from leads.web.undo_offer import offer_undo
from leads.web.views.list import filter_query_string


def _detail_url(request: HttpRequest, lead: Lead) -> str:
    query = request.POST.get("query") if request.method == "POST" else None
    query = query if query is not None else filter_query_string(request.GET)
    url = reverse("leads:detail", args=[lead.uuid])
    return f"{url}?{query}" if query else url


def _render(request: HttpRequest, lead: Lead, **forms) -> HttpResponse:
    query = filter_query_string(request.GET)  # only the GET renders the page (PRG)
    params = QueryDict(query)
    visible = seen(request)
    previous, following = list_queries.neighbours(
        lead=lead, params=params, scope=list_scope(visible, params)
    )
    suffix = f"?{query}" if query else ""
    editable = can_edit_contact(request.user)
    entries, notes = history.history_and_notes(lead=lead)
    conflict = forms.get("conflict")
    if conflict is not None:
        version = conflict.version
    elif forms.get("version") is not None:
        version = forms["version"]
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
        "notes": notes,
        "can_edit_contact": editable,
        "can_resolve": can_resolve_changes(request.user),
        "raw_json": json.dumps(lead.raw, indent=2, ensure_ascii=False)
        if can_view_raw(request.user)
        else "",
        "history": entries,
        "status_form": forms.get("status_form") or StatusForm(initial={"status": lead.status}),
        "note_form": forms.get("note_form") or NoteForm(),
        "tag_form": forms.get("tag_form") or AddTagForm(),
        **_contact_forms(lead, forms, editable),
        "api_error": forms.get("api_error", {}),
        "conflict": conflict,
        "conflict_rows": _conflict_rows(conflict),
        "open_changes": lead.changes.filter(state__in=LeadChange.OPEN_STATES).order_by("id"),
    }
    return render(request, "leads/detail.html", context, using="jinja2")


def _contact_forms(lead: Lead, forms: dict, editable: bool) -> dict:
    """The contact form and its attribute rows, made only for those who may edit them."""
    if not editable:
        return {"contact_form": None, "attribute_formset": None}
    return {
        "contact_form": forms.get("contact_form")
        or ContactForm(initial=model_to_dict(lead, fields=ContactForm.base_fields)),
        "attribute_formset": forms.get("attribute_formset")
        or AttributeFormSet(initial=lead.attributes, prefix="attr"),
    }


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
    return _render(request, lead, **_kept_forms(request, lead))


# --- Post/Redirect/Get: a form that is refused is kept in the session for the page it
# redirects to, so the address bar shows the lead and a reload never re-posts.
KEPT_KEY = "detail-kept:{}"


def _keep(request, lead, form: str, *, api_error=None, conflict=None) -> HttpResponse:
    """Redirect to the lead's page, which shows `form` ("status", "note", "tags", "contact")
    as it was posted, with its errors, `api_error` ({form: message}) or the `conflict`."""
    data = {key: request.POST.getlist(key) for key in request.POST if key != "csrfmiddlewaretoken"}
    request.session[KEPT_KEY.format(lead.pk)] = {
        "form": form,
        "data": data,
        "api_error": api_error or {},
        "conflict": None
        if conflict is None
        else {"current": conflict.current, "yours": conflict.yours, "version": conflict.version},
    }
    return redirect(_detail_url(request, lead))


def _kept_forms(request, lead) -> dict:
    """The forms a refused post kept for this page (once), bound again so their errors show."""
    kept = request.session.pop(KEPT_KEY.format(lead.pk), None)
    if not kept:
        return {}
    data = QueryDict(mutable=True)
    for key, values in kept["data"].items():
        data.setlist(key, values)
    forms = {"api_error": kept["api_error"]}
    if kept["conflict"]:
        forms["conflict"] = SimpleNamespace(**kept["conflict"])
    if data.get("version", "").isdigit():
        forms["version"] = int(data["version"])
    if kept["form"] == "status":
        forms["status_form"] = StatusForm(data)
    elif kept["form"] == "note":
        forms["note_form"] = NoteForm(data)
    elif kept["form"] == "tags" and "tag" in data:
        forms["tag_form"] = AddTagForm(data, existing=lead.tags)
    elif kept["form"] == "contact":
        forms["contact_form"] = ContactForm(data)
        forms["attribute_formset"] = AttributeFormSet(data, prefix="attr")
    return forms


def _done(request, lead, change, what: str, unchanged: str = "") -> HttpResponse:
    if change is None:
        messages.info(request, unchanged or f"Nothing changed: {what} already.")
    elif services.is_pending(change):
        messages.warning(request, f"{services.SAVED_PENDING} ({what})")
    else:
        messages.success(request, f"Saved: {what}.")
    offer_undo(request, change)
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
        return _keep(request, lead, "status")
    try:
        change = services.lead_set_status(
            lead=lead,
            status=form.cleaned_data["status"],
            user=request.user,
            base_version=_version(request),
        )
    except services.EditFailed as e:
        return _keep(request, lead, "status", api_error={"status": e.message})
    except services.EditConflict as conflict:
        return _keep(request, lead, "status", conflict=conflict)
    label = lead.status_label
    return _done(
        request, lead, change, f"status {label}", unchanged=f"Already {label} — nothing changed."
    )


@require_POST
@permission_required(TRIAGE)
def add_note(request: HttpRequest, uuid: str) -> HttpResponse:
    lead = lead_or_404(request, uuid)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _keep(request, lead, "note")
    try:
        change = services.lead_add_note(
            lead=lead,
            title=form.cleaned_data["title"],
            description=form.cleaned_data["description"],
            user=request.user,
        )
    except services.EditFailed as e:
        return _keep(request, lead, "note", api_error={"note": e.message})
    return _done(request, lead, change, "note added")


@require_POST
@permission_required(TRIAGE)
def edit_tags(request: HttpRequest, uuid: str) -> HttpResponse:
    lead = lead_or_404(request, uuid)
    if "remove" in request.POST:
        remove_form = RemoveTagForm(request.POST)
        if not remove_form.is_valid():
            return _keep(request, lead, "tags")
        tag = remove_form.cleaned_data["remove"]
        try:
            change = services.lead_remove_tag(lead=lead, tag=tag, user=request.user)
        except services.EditFailed as e:
            return _keep(request, lead, "tags", api_error={"tags": e.message})
        return _done(
            request,
            lead,
            change,
            f'tag "{tag}" removed',
            unchanged=f'No tag "{tag}" — nothing changed.',
        )
    form = AddTagForm(request.POST, existing=lead.tags)
    if not form.is_valid():
        return _keep(request, lead, "tags")
    try:
        change = services.lead_add_tag(lead=lead, tag=form.cleaned_data["tag"], user=request.user)
    except services.EditFailed as e:
        return _keep(request, lead, "tags", api_error={"tags": e.message})
    return _done(request, lead, change, f'tag "{form.cleaned_data["tag"]}" added')


@require_POST
@permission_required(EDIT_CONTACT)
def edit_contact(request: HttpRequest, uuid: str) -> HttpResponse:
    lead = lead_or_404(request, uuid)
    form = ContactForm(request.POST)
    formset = AttributeFormSet(request.POST, prefix="attr")
    if not (form.is_valid() & formset.is_valid()):
        return _keep(request, lead, "contact")
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
        return _keep(request, lead, "contact", conflict=conflict)
    except services.EditFailed as e:
        return _keep(request, lead, "contact", api_error={"contact": e.message})
    return _done(
        request,
        lead,
        change,
        "contact details",
        unchanged="Contact details already so — nothing changed.",
    )
