"""The insights page (/insights/): the figures of a period, drawn as charts with their tables,
each chart's numbers as CSV (`?_export=csv&chart=NAME`, same filters)."""

import csv

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import render
from django.utils import timezone

from leads.accounts.permissions import VIEW, permission_required
from leads.insights import charts as insight_charts
from leads.insights.forms import ALL_BOTS, InsightsForm
from leads.selectors import insights as selectors
from leads.selectors import people
from leads.selectors.bots import Visibility, chosen_bot
from leads.web.export import neutralise
from leads.web.scope import list_params, seen
from leads.web.views.home import no_bots


def agent_choices(visible: Visibility, bot: str) -> list[tuple[str, str]]:
    """Me, Unassigned and the people of the bot chosen (else of every bot the person sees)."""
    chosen = chosen_bot(bot)
    bots = [chosen] if visible.sees(chosen) else list(visible.ids)
    single = visible.installation_bots == 1
    return [
        (people.ME, "Me"),
        (people.NOBODY, "Unassigned"),
        *((p.agent_id, p.name) for p in people.people_of_bots(bots, single_bot=single)),
    ]


def link_base(visible: Visibility, data: dict) -> QueryDict:
    """The list's parameters for the page's own filters: the bot ("all" when the person sees
    several and chose none, so the list's remembered bot does not narrow it), agent and tag."""
    base = QueryDict(mutable=True)
    bot = chosen_bot(data.get("bot"))
    if visible.sees(bot):
        base["bot"] = str(bot)
    elif visible.several:
        base["bot"] = ALL_BOTS
    for name in ("agent", "tag"):
        if data.get(name):
            base[name] = data[name]
    return base


def csv_response(chart: insight_charts.Chart, period) -> HttpResponse:
    filename = f"insights-{chart.name}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    for row in chart.csv_rows():
        writer.writerow([neutralise(value) for value in row])
    return response


@permission_required(VIEW)
def insights(request: HttpRequest) -> HttpResponse:
    visible = seen(request)
    if visible.locked_out:
        return no_bots(request)
    params = list_params(request)
    form = InsightsForm(
        params,
        bots=[(bot.id, bot.name) for bot in visible.bots],
        agents=agent_choices(visible, params.get("bot", "")),
    )
    exporting = params.get("_export") == "csv"
    if not form.is_valid():
        if exporting:
            return HttpResponseBadRequest(" ".join(form.errors.get("__all__", ["Bad filters."])))
        return render(request, "leads/insights.html", {"form": form})
    data = form.cleaned_data
    period = form.period(today=timezone.localdate(), zone=timezone.get_current_timezone())
    filters = selectors.filters_for(
        seen=visible, user=request.user, bot=data["bot"], agent=data["agent"], tag=data["tag"]
    )
    figures = selectors.figures(filters, period)
    names = people.names()
    base = link_base(visible, data)
    charts = insight_charts.charts(
        figures, base=base, label_of=lambda a: people.agent_label(a, names).text, tag=data["tag"]
    )
    if exporting:
        chosen = next((c for c in charts if c.name == params.get("chart")), None)
        if chosen is None:
            raise Http404("No such chart.")
        return csv_response(chosen, period)
    return render(
        request,
        "leads/insights.html",
        {
            "form": form,
            "period": period,
            "figures": figures,
            "charts": charts,
            "summary": insight_charts.summary(figures, insight_charts.Links(base)),
            "query": request.GET.urlencode(),
        },
    )
