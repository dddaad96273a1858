"""Triage macros applied by a click or a key: to one lead (its page, or the list's focused row)
and to the list's selected rows or all matching ones. Each answers with a redirect back (PRG),
the outcome in a message and an Undo on offer."""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from leads import services
from leads.accounts.permissions import TRIAGE, permission_required
from leads.models import Lead, Macro
from leads.selectors import lists as list_queries
from leads.selectors.bots import list_scope
from leads.selectors.macros import macro_for_bots
from leads.selectors.people import resolve_me
from leads.web.redirects import redirect_back
from leads.web.scope import lead_or_404, seen
from leads.web.undo_offer import offer_undo

MAX_FAILED_SHOWN = 20


class MacroTargetsForm(forms.Form):
    """The list's bulk bar as a macro button submits it: the rows chosen."""

    selected = forms.MultipleChoiceField(required=False)  # uuids; choices are not enumerated
    all_matching = forms.BooleanField(required=False)
    query = forms.CharField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["selected"].valid_value = lambda value: bool(value)

    def clean(self):
        data = super().clean()
        if not data.get("all_matching") and not data.get("selected"):
            raise forms.ValidationError("Select at least one row, or all matching rows.")
        return data


def _macro(pk: int, bot_ids) -> Macro:
    macro = macro_for_bots(pk, bot_ids)
    if macro is None:
        raise Http404("No such macro.")
    return macro


@require_POST
@permission_required(TRIAGE)
def apply_to_lead(request: HttpRequest, uuid: str, pk: int) -> HttpResponse:
    lead = lead_or_404(request, uuid)
    macro = _macro(pk, [lead.bot_id])
    try:
        change = services.macro_apply(macro=macro, lead=lead, user=request.user)
    except services.AssignmentRefused as e:
        messages.error(request, f"{macro.name}: {e.message}")
    except services.EditFailed as e:
        messages.error(request, f"{macro.name}: BotPenguin refused it: {e.message}")
    else:
        if change is None:
            messages.info(request, f"{macro.name}: nothing to change on {lead}.")
        elif services.is_pending(change):
            messages.warning(request, f"{macro.name} applied to {lead}. {services.SAVED_PENDING}")
        else:
            messages.success(request, f"{macro.name} applied to {lead}.")
        offer_undo(request, change)
    return redirect_back(request, reverse("leads:detail", args=[lead.uuid]))


def _chosen_leads(request: HttpRequest, form: MacroTargetsForm):
    visible = seen(request)
    if form.cleaned_data["all_matching"]:
        params = resolve_me(QueryDict(form.cleaned_data["query"]), request.user)
        return list_queries.matching(params, scope=list_scope(visible, params))
    return visible.scope.apply(Lead.objects.filter(uuid__in=form.cleaned_data["selected"]))


@require_POST
@permission_required(TRIAGE)
def apply_bulk(request: HttpRequest, pk: int) -> HttpResponse:
    form = MacroTargetsForm(request.POST)
    query = request.POST.get("query", "")
    back = reverse("leads:list") + (f"?{query}" if query else "")
    macro = _macro(pk, seen(request).ids)
    if not form.is_valid():
        for error in form.non_field_errors():
            messages.error(request, error)
        return redirect(back)
    try:
        result = services.macros_apply_bulk(
            macro=macro, leads=_chosen_leads(request, form), user=request.user
        )
    except services.AssignmentRefused as e:
        messages.error(request, f"{macro.name}: {e.message}")
        return redirect(back)
    level = messages.WARNING if result.failed else messages.SUCCESS
    messages.add_message(request, level, f"{macro.name}: {result.summary}.")
    for lead, reason in result.failed[:MAX_FAILED_SHOWN]:
        messages.error(request, f"{lead}: {reason}")
    if len(result.failed) > MAX_FAILED_SHOWN:
        messages.error(request, f"…and {len(result.failed) - MAX_FAILED_SHOWN} more failed.")
    offer_undo(request, result)
    return redirect(back)
