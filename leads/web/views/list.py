"""The lead list: filter, sort, page, export, change a row's status in place, bulk actions."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.humanize.templatetags.humanize import intcomma
from django.forms import BoundField
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import cached_property
from django.views.decorators.http import require_POST
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin
from django_tables2.export.views import ExportMixin

from leads import services
from leads.accounts.permissions import TRIAGE, VIEW, PermissionRequiredMixin, permission_required
from leads.botpenguin.records import STATUS_LABELS
from leads.models import Lead, Status
from leads.selectors import counting, people, queues
from leads.selectors import lists as list_queries
from leads.selectors.bots import Scope, list_scope
from leads.selectors.counting import CachedCountPaginator
from leads.selectors.filters import DATE_FILTERS, PER_PAGE_CHOICES, LeadFilter
from leads.web.assigning import chosen_agent_id, not_linked_text, refusal_text
from leads.web.export import LeadExportTable
from leads.web.forms import BulkActionForm
from leads.web.redirects import redirect_back
from leads.web.scope import current_bot, lead_or_404, list_params, seen
from leads.web.tables import ROW_FIELDS, LeadTable
from leads.web.undo_offer import offer_undo
from leads.web.views import workspace
from leads.web.views.home import no_bots

CONTROL_PARAMS = list_queries.CONTROL_PARAMS
# The keyboard shortcuts' help: "1 Open, 2 In progress, …" (keys 1–6 set a row's status).
STATUS_KEYS = ", ".join(f"{n} {label}" for n, (_value, label) in enumerate(Status.choices, 1))


def filter_query_string(params: QueryDict) -> str:
    """The query string of the filters only (kind included), for links that keep the view."""
    kept = params.copy()
    for name in CONTROL_PARAMS:
        kept.pop(name, None)
    return kept.urlencode()


def per_page(params: QueryDict) -> int:
    try:
        value = int(params.get("per_page", ""))
    except ValueError:
        return PER_PAGE_CHOICES[0]
    return value if value in PER_PAGE_CHOICES else PER_PAGE_CHOICES[0]


def _field_state(field: BoundField) -> dict:
    """What the filter form shows of one field: what the person typed (kept when invalid)."""
    value = field.value()
    return {
        "name": field.html_name,
        "id": field.auto_id,
        "label": field.label,
        "value": "" if value is None else str(value),
        "errors": list(field.errors),
    }


class LeadListView(PermissionRequiredMixin, ExportMixin, SingleTableMixin, FilterView):
    permission = VIEW
    model = Lead
    filterset_class = LeadFilter
    table_class = LeadTable
    template_name = "leads/list.html"
    template_engine = "jinja2"
    export_formats = ("csv", "xlsx")

    def get(self, request, *args, **kwargs):
        if seen(request).locked_out:
            return no_bots(request)
        return super().get(request, *args, **kwargs)

    @cached_property
    def params(self) -> QueryDict:
        """The query with the remembered bot applied (web.scope.list_params) and `agent=me` as
        the person's agent id (the counts are cached by parameters): what the page shows,
        counts and links by."""
        return people.resolve_me(list_params(self.request), self.request.user)

    @cached_property
    def scope(self) -> Scope:
        return list_scope(seen(self.request), self.params)

    def get_queryset(self):
        return list_queries.base_queryset(self.params, scope=self.scope)

    def get_filterset_kwargs(self, filterset_class):
        kwargs = super().get_filterset_kwargs(filterset_class)
        kwargs["data"] = self.params
        return kwargs

    def exporting(self) -> bool:
        return bool(self.request.GET.get(self.export_trigger_param))

    def get_table_data(self):
        """The filtered leads: whole for an export, else only the values a row shows."""
        leads = super().get_table_data()
        return leads if self.exporting() else leads.values_list(*ROW_FIELDS, named=True)

    def get_filterset(self, filterset_class):
        filterset = super().get_filterset(filterset_class)
        filterset.many_matches = self.many_matches()
        return filterset

    def many_matches(self) -> bool:
        """Whether this search is known (from the cached count) to match at least ten times the
        rows the page needs: then walking the ordered index finds the page sooner."""
        params = self.params
        if not params.get("q") or self.exporting():
            return False
        count = counting.peek("count", self.count_key())
        try:
            page = max(1, int(params.get("page", 1)))
        except ValueError:
            page = 1
        return isinstance(count, int) and count >= 10 * page * per_page(params)

    def count_key(self) -> str:
        """What the matching count is cached under: the filter parameters and the bot scope (see
        counting)."""
        return counting.params_key(self.params, without=CONTROL_PARAMS, scope=self.scope.key)

    def get_table_class(self):
        return LeadExportTable if self.exporting() else LeadTable

    def get_table_kwargs(self):
        if self.exporting():
            return {}
        return {
            "query_string": filter_query_string(self.params),
            "bot_names": bot_names(self.request),
        }

    def get_table_pagination(self, table):
        return {
            "per_page": per_page(self.request.GET),
            "paginator_class": CachedCountPaginator,
            "cache_key": self.count_key(),
            "known": self.count_by_status,
        }

    @cached_property
    def tabs(self) -> tuple[dict[str, int], bool]:
        """The status tabs' counts (every filter but the status one; cached), and whether this
        request read them from the database."""
        return list_queries.status_counts_read(
            self.params, scope=self.scope, matched=self.own_matches
        )

    def own_matches(self):
        """The page's own filtered leads (its FilterSet's, when valid), which the status tabs
        count when no status is chosen, rather than building a second FilterSet; else None."""
        filterset = self.filterset
        return filterset.qs if filterset.is_valid() else None

    def count_by_status(self) -> int | None:
        """The matching count, from the status tabs' counts, which the page reads anyway (a
        miss of both costs one query instead of two, as after every edit): all of them, or the
        sum of the chosen statuses'. Only when the tabs' counts are read from the database now
        too: cached ones may be older than the rows (another process's edit), and a count
        cached anew must be as fresh as it was. None when a chosen status is not one of the
        six (the filter refuses it)."""
        chosen = set(self.params.getlist("status"))
        if not chosen <= set(Status.values):
            return None
        counts, read_now = self.tabs
        if not read_now:
            return None
        return counts["all"] if not chosen else sum(counts[value] for value in chosen)

    def get_export_filename(self, export_format):
        kind = "other-chats" if list_queries.is_non_lead(self.request.GET) else "leads"
        return f"botpanel-{kind}.{export_format}"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.params
        if self.exporting():
            return context  # the export renders the table alone
        if params.get("agent") == people.ME:  # still "me": the person is linked to no id
            messages.info(self.request, not_linked_text())
        query = filter_query_string(params)
        non_lead = list_queries.is_non_lead(params)
        base = {"type": "non-lead"} if non_lead else {}
        counts, _ = self.tabs
        visible = seen(self.request)
        active = params.getlist("status")
        form = context["filter"].form
        chosen = per_page(params)
        # Plain strings, which the template prints as they are (nothing to localize).
        context.update(
            non_lead=non_lead,
            heading="Other chats" if non_lead else "Leads",
            match_count=intcomma(context["table"].paginator.count),
            filter_query=query,
            per_page=str(chosen),
            per_page_options=[(str(n), n == chosen) for n in PER_PAGE_CHOICES],
            bot_choices=visible.bots if visible.several else (),
            chosen_bot=current_bot(self.request),
            kept_params=[
                (key, value)
                for key, values in self.request.GET.lists()
                if key not in ("per_page", "page")
                for value in values
            ],
            status_counts=counts,
            all_count=str(counts.get("all", 0)),
            status_tabs=[
                (
                    value,
                    label,
                    "?" + urlencode({**base, "status": value}),
                    str(counts.get(value, 0)),
                    value in active,
                )
                for value, label in Status.choices
            ],
            all_tab_url="?" + urlencode(base),
            any_status=bool(active),
            status_chosen=str(len(active)),
            statuses=Status.choices,
            status_keys=STATUS_KEYS,
            text_fields={name: _field_state(form[name]) for name in ("q", "tag", "agent")},
            date_fields=[_field_state(form[name]) for name in DATE_FILTERS],
            status_errors=list(form["status"].errors),
            export_csv="?" + (query + "&" if query else "") + "_export=csv",
            export_xlsx="?" + (query + "&" if query else "") + "_export=xlsx",
            workspace=workspace.panel_context(self.request, params, counts.get("newest")),
        )
        table = context["table"]
        table.marks = queues.page_marks(
            user=self.request.user, rows=[row.record for row in table.paginated_rows]
        )
        return context


def bot_names(request: HttpRequest) -> dict[int, str] | None:
    """The Bot column's names, when the person sees more than one bot (else no Bot column)."""
    visible = seen(request)
    return visible.names() if visible.several else None


def _set_status(request: HttpRequest, lead: Lead) -> tuple[str, int]:
    """Apply the posted status to `lead`: (a note for the row, or "", and the HTTP status)."""
    status = request.POST.get("status", "")
    if status not in Status.values:
        return "Choose one of the six statuses.", 400
    version = request.POST.get("version", "")
    try:
        change = services.lead_set_status(
            lead=lead,
            status=status,
            user=request.user,
            base_version=int(version) if version.isdigit() else None,
        )
    except services.EditFailed as e:
        return e.message, 200
    except services.EditConflict as conflict:
        current = STATUS_LABELS.get(conflict.current["status"], "—")
        chosen = Status(status).label
        return (
            f"Changed meanwhile to {current} (you chose {chosen}): pick again to keep yours.",
            409,
        )
    offer_undo(request, change)
    return (services.SAVED_PENDING if services.is_pending(change) else ""), 200


@require_POST
@permission_required(TRIAGE)
def row_status(request: HttpRequest, uuid: str) -> HttpResponse:
    """Change one row's status in place (htmx) and answer with the re-rendered row."""
    lead = lead_or_404(request, uuid)
    note, http_status = _set_status(request, lead)
    if not request.htmx:
        if note:
            messages.warning(request, f"{lead}: {note}")
        else:
            messages.success(request, f"{lead}: status set to {lead.status_label}.")
        return redirect_back(request, "leads:list")
    query = filter_query_string(QueryDict(request.POST.get("query", "")))
    table = LeadTable([lead], query_string=query, bot_names=bot_names(request))
    table.marks = queues.page_marks(user=request.user, rows=[lead])
    context = {
        "table": table,
        "lead": lead,
        "note": note,
        "note_class": "text-warning-emphasis" if note == services.SAVED_PENDING else "text-danger",
    }
    response = render(request, "leads/row_status.html", context, status=http_status, using="jinja2")
    # The navigation's pending/failed badges refresh at once instead of at their next poll.
    response.headers["HX-Trigger"] = "changes-updated"
    return response


@require_POST
@permission_required(TRIAGE)
def bulk_action(request: HttpRequest) -> HttpResponse:
    """Set status / add a tag / remove a tag on the selected rows or on all matching rows."""
    form = BulkActionForm(request.POST)
    query = request.POST.get("query", "")
    back = reverse("leads:list") + (f"?{query}" if query else "")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    visible = seen(request)
    if form.cleaned_data["all_matching"]:
        params = QueryDict(query)
        leads = list_queries.matching(params, scope=list_scope(visible, params))
    else:
        leads = visible.scope.apply(Lead.objects.filter(uuid__in=form.cleaned_data["selected"]))
    action = form.cleaned_data["action"]
    if action == "assign":
        try:
            agent_id = chosen_agent_id(form.cleaned_data["agent"], request.user)
        except services.AssignmentRefused as e:
            messages.error(request, refusal_text(e.message))
            return redirect(back)
        result = services.leads_bulk_assign(leads=leads, agent_id=agent_id, user=request.user)
    elif action == "set_status":
        result = services.leads_bulk_set_status(
            leads=leads, status=form.cleaned_data["status"], user=request.user
        )
    elif action == "add_tag":
        result = services.leads_bulk_add_tag(
            leads=leads, tag=form.cleaned_data["tag"], user=request.user
        )
    else:
        result = services.leads_bulk_remove_tag(
            leads=leads, tag=form.cleaned_data["tag"], user=request.user
        )
    level = messages.WARNING if result.failed else messages.SUCCESS
    messages.add_message(request, level, f"{form.describe()}: {result.summary}.")
    for lead, reason in result.failed[:20]:
        messages.error(request, f"{lead}: {reason}")
    if len(result.failed) > 20:
        messages.error(request, f"…and {len(result.failed) - 20} more failed.")
    offer_undo(request, result)
    return redirect(back)


@permission_required(VIEW)
def tag_options(request: HttpRequest) -> HttpResponse:
    """<option>s of the tags in use, for the tag inputs' datalist (loaded by htmx)."""
    tags = list_queries.tag_suggestions(scope=seen(request).scope)
    return render(request, "leads/partials/tag_options.html", {"tags": tags}, using="jinja2")
