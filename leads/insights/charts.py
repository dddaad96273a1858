"""The insights' charts made from the figures: for each, Chart.js's data, the table beside it and
its CSV, all three from the same points, so the table and the CSV hold exactly the numbers drawn;
and for each number the list filtered to those leads, where the list has such a filter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.http import QueryDict
from django.urls import reverse

from leads.botpenguin.records import STATUS_LABELS
from leads.insights.figures import BACKLOG, Figures
from leads.insights.sql import Spread

HOUR = 3600


@dataclass(frozen=True)
class Series:
    label: str
    kind: str = ""  # "" the chart's own type, or "line" / "bar" in a mixed chart
    axis: str = "y"  # "hours": the right-hand axis of a mixed chart


@dataclass(frozen=True)
class Point:
    """One category of a chart: its label as shown and in the CSV, a value per series (None:
    nothing to draw) and a link per series ("" where the list has no such filter)."""

    label: str
    key: str
    values: tuple[float | int | None, ...]
    links: tuple[str, ...] = ()

    def link(self, i: int) -> str:
        return self.links[i] if i < len(self.links) else ""


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    summary: str  # what it shows, for the canvas's label
    kind: str  # Chart.js type: "bar" or "line"
    category: str  # the first column's header
    series: tuple[Series, ...]
    points: tuple[Point, ...]
    horizontal: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def source_id(self) -> str:
        return f"chart-data-{self.name}"

    @property
    def empty(self) -> bool:
        return not any(v for p in self.points for v in p.values)

    def config(self) -> dict:
        """What static/js/insights.js hands to Chart.js (and the links a click follows)."""
        datasets = []
        for i, series in enumerate(self.series):
            dataset = {"label": series.label, "data": [p.values[i] for p in self.points]}
            if series.kind:
                dataset["type"] = series.kind
            if series.axis != "y":
                dataset["yAxisID"] = series.axis
            datasets.append(dataset)
        return {
            "type": self.kind,
            "horizontal": self.horizontal,
            "hoursAxis": any(s.axis == "hours" for s in self.series),
            "labels": [p.label for p in self.points],
            "datasets": datasets,
            "links": [[p.link(i) for p in self.points] for i in range(len(self.series))],
        }

    def table(self) -> list[dict]:
        return [
            {
                "label": p.label,
                "cells": [
                    {"value": cell_text(v), "href": p.link(i)} for i, v in enumerate(p.values)
                ],
            }
            for p in self.points
        ]

    def csv_rows(self) -> list[list]:
        header = [self.category, *(s.label for s in self.series)]
        return [header] + [
            [p.key, *("" if v is None else v for v in p.values)] for p in self.points
        ]


def cell_text(value: float | int | None) -> str:
    if value is None:
        return "—"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / HOUR, 2)


class Links:
    """The list's URL for some leads: the page's own filters (bot, agent, tag) and more."""

    def __init__(self, base: QueryDict):
        self.base = base
        self.url = reverse("leads:list")

    def __call__(self, without: tuple[str, ...] = (), **params: str | int | None) -> str:
        query = self.base.copy()
        for name in without:
            query.pop(name, None)
        for name, value in params.items():
            if value is not None:
                query[name] = str(value)
        return f"{self.url}?{query.urlencode()}"


def _day(value: date) -> str:
    return f"{value.day} {value:%b}"


def arrivals(figures: Figures, link: Links) -> Chart:
    period = figures.period
    points = []
    for i in range(period.length):
        day = period.day(i).isoformat()
        within = {"created_after": day, "created_before": day}
        points.append(
            Point(
                label=_day(period.day(i)),
                key=day,
                values=(figures.new_leads[i], figures.new_other[i]),
                links=(link(**within), link(type="non-lead", **within)),
            )
        )
    notes = ()
    if figures.undated:
        notes = (
            f"{figures.undated:,} lead(s) have no arrival date: they are counted in the funnel, "
            "the workload and the backlog, but not here, in the tags or in the times.",
        )
    return Chart(
        name="arrivals",
        title="New leads and other chats per day",
        summary="Leads and other chats that arrived on each day of the period.",
        kind="bar",
        category="Day",
        series=(Series("New leads"), Series("Other chats")),
        points=tuple(points),
        notes=notes,
    )


def funnel(figures: Figures, link: Links) -> Chart:
    points = [
        Point(label, code, (figures.funnel.get(code, 0),), (link(status=code),))
        for code, label in STATUS_LABELS.items()
    ]
    if figures.funnel.get(""):
        points.append(Point("No status", "", (figures.funnel[""],)))
    return Chart(
        name="funnel",
        title="The funnel now",
        summary="Leads per status now, whatever their arrival date.",
        kind="bar",
        category="Status",
        series=(Series("Leads"),),
        points=tuple(points),
        horizontal=True,
        notes=("Every lead in the scope and filters, whatever the period.",),
    )


def _weekly(figures: Figures, spreads: tuple[Spread, ...]) -> tuple[Point, ...]:
    period = figures.period
    return tuple(
        Point(
            label=f"{_day(period.week_start(w))}–{_day(period.week_end(w))}",
            key=period.week_start(w).isoformat(),
            values=(spread.count, hours(spread.median), hours(spread.p90)),
        )
        for w, spread in enumerate(spreads)
    )


def _times(name: str, title: str, summary: str, measured: str, points) -> Chart:
    return Chart(
        name=name,
        title=title,
        summary=summary,
        kind="bar",
        category="Week",
        series=(
            Series(measured),
            Series("Median (hours)", kind="line", axis="hours"),
            Series("90th percentile (hours)", kind="line", axis="hours"),
        ),
        points=points,
    )


def first_action(figures: Figures) -> Chart:
    return _times(
        "first_action",
        "Time to first action",
        "Per week: leads whose first status change (away from Open) happened that week, and the "
        "median and 90th percentile of the hours from arrival to it.",
        "First actions",
        _weekly(figures, figures.first_action),
    )


def time_to_close(figures: Figures) -> Chart:
    return _times(
        "time_to_close",
        "Time to close",
        "Per week: leads closed now whose last closing happened that week, and the median and "
        "90th percentile of the hours from arrival to it.",
        "Closed",
        _weekly(figures, figures.to_close),
    )


def workload(figures: Figures, link: Links, label_of: Callable[[str], str]) -> Chart:
    points = tuple(
        Point(
            label=label_of(load.agent_id),
            key=load.agent_id or "unassigned",
            values=(load.open, load.closed, hours(load.median)),
            links=(link(without=("agent",), agent=load.agent_id or "none", status_not="CLOSED"),),
        )
        for load in figures.workload
    )
    return Chart(
        name="workload",
        title="Workload per agent",
        summary="Per agent: open leads assigned now, leads closed in the period, and the "
        "median hours from arrival to close of those.",
        kind="bar",
        category="Agent",
        series=(
            Series("Open now"),
            Series("Closed in the period"),
            Series("Median time to close (hours)", kind="line", axis="hours"),
        ),
        points=points,
    )


def backlog(figures: Figures, link: Links) -> Chart:
    points = [
        Point(
            label=bucket.label,
            key=bucket.name,
            values=(count,),
            links=(
                link(
                    status_not="CLOSED", waiting_min=bucket.min_hours, waiting_max=bucket.max_hours
                ),
            ),
        )
        for bucket, count in zip(BACKLOG, figures.backlog, strict=True)
    ]
    if figures.backlog_unknown:
        points.append(Point("Not known", "unknown", (figures.backlog_unknown,)))
    return Chart(
        name="backlog",
        title="Backlog by waiting time",
        summary="Leads not Closed, by how long they have waited in their status.",
        kind="bar",
        category="Waiting",
        series=(Series("Open leads"),),
        points=tuple(points),
    )


def tags(figures: Figures, link: Links, chosen_tag: str) -> Chart:
    first, last = figures.period.first.isoformat(), figures.period.last.isoformat()
    points = []
    for name, count in figures.tags:
        # The list filters by one tag: with a tag chosen, only that one's count is a list.
        linked = not chosen_tag or name.casefold() == chosen_tag.casefold()
        href = link(tag=name, created_after=first, created_before=last) if linked else ""
        points.append(Point(name, name, (count,), (href,)))
    return Chart(
        name="tags",
        title="Top tags among new leads",
        summary="The most used tags of the leads that arrived in the period.",
        kind="bar",
        category="Tag",
        series=(Series("New leads"),),
        points=tuple(points),
        horizontal=True,
    )


def charts(
    figures: Figures, *, base: QueryDict, label_of: Callable[[str], str], tag: str
) -> list[Chart]:
    """Every chart of the page, in its order. `base`: the list's parameters for the page's own
    filters; `label_of`: an agent id as people read it; `tag`: the tag chosen, if any."""
    link = Links(base)
    return [
        arrivals(figures, link),
        funnel(figures, link),
        first_action(figures),
        time_to_close(figures),
        workload(figures, link, label_of),
        backlog(figures, link),
        tags(figures, link, tag),
    ]


@dataclass(frozen=True)
class Figure:
    """A number above the charts, with the list of those leads."""

    label: str
    value: int
    href: str


def summary(figures: Figures, link: Links) -> list[Figure]:
    first, last = figures.period.first.isoformat(), figures.period.last.isoformat()
    within = {"created_after": first, "created_before": last}
    still_open = sum(n for status, n in figures.funnel.items() if status != "CLOSED")
    return [
        Figure("New leads", sum(figures.new_leads), link(**within)),
        Figure("Other chats", sum(figures.new_other), link(type="non-lead", **within)),
        Figure("Open now", still_open, link(status_not="CLOSED")),
        Figure("Overdue now", figures.overdue, link(overdue="1", status_not="CLOSED")),
    ]
