"""Insights and the overview in a browser (issue 19): the charts drawn by Chart.js under the
Content-Security-Policy with no error, each table holding the numbers its chart was given, a
chart's CSV downloaded, and no axe-core violation, as an agent and as a lead admin at a laptop's
size and a phone's."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leads.models import AgentProfile, StatusChange
from tests.browser.pages import axe_violations, sign_in, watch_policy
from tests.factories import env_bot, make_lead

pytestmark = pytest.mark.django_db(transaction=True)

ACCOUNTS = {"agent": ("agent", "agent-pass-123"), "lead admin": ("leadadmin", "leadadmin-pass-123")}
SIZES = {"laptop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
CHARTS = ["arrivals", "funnel", "first_action", "time_to_close", "workload", "backlog", "tags"]


@pytest.fixture
def history(user, lead_admin):
    """A fortnight of leads with their status history, for every chart to draw something."""
    AgentProfile.objects.create(user=user, agent_id="agent-asha", time_zone="Asia/Kolkata")
    AgentProfile.objects.create(user=lead_admin, agent_id="agent-lena")
    bot = env_bot()
    now = timezone.now()
    statuses = ["OPEN", "INPROGRESS", "REVIEW", "ONHOLD", "DEPENDANCY", "CLOSED"]
    for n in range(24):
        arrived = now - timedelta(days=n % 14, hours=n)
        status = statuses[n % 6]
        lead = make_lead(
            n,
            status=status,
            agent_id=["agent-asha", "agent-lena", ""][n % 3],
            tags=[["hot"], ["vip", "hot"], []][n % 3],
            is_lead=n % 5 != 4,
            remote_created_at=arrived,
            waiting_since=now - timedelta(hours=n * 3 + 0.5),
        )
        changes = [StatusChange(lead=lead, bot=bot, to_status="OPEN", at=arrived, source="start")]
        if status != "OPEN":
            changes.append(
                StatusChange(
                    lead=lead,
                    bot=bot,
                    from_status="OPEN",
                    to_status=status,
                    at=arrived + timedelta(hours=n % 7 + 1),
                    source="botpanel" if n % 2 else "botpenguin",
                )
            )
        StatusChange.objects.bulk_create(changes)


def charts_drawn(page) -> dict:
    """{name: whether Chart.js holds a chart on its canvas} for every canvas of the page."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('canvas[data-chart]')].map(
             c => [c.dataset.chart.replace('chart-data-', ''), !!window.Chart.getChart(c)]))"""
    )


def tables_as_drawn(page) -> dict:
    """For each chart, (the numbers its JSON gave Chart.js, the numbers in its table)."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('canvas[data-chart]')].map(c => {
             const data = JSON.parse(document.getElementById(c.dataset.chart).textContent);
             const name = c.dataset.chart.replace('chart-data-', '');
             const drawn = data.labels.map((label, i) =>
               [label, ...data.datasets.map(d => d.data[i] === null ? null : Number(d.data[i]))]);
             const rows = [...document.querySelectorAll('#table-' + name + ' tbody tr')].map(tr =>
               [tr.querySelector('th').textContent.trim(),
                ...[...tr.querySelectorAll('td')].map(td => {
                  const text = td.textContent.trim().replace(/,/g, '');
                  return text === '—' ? null : Number(text);
                })]);
             return [name, [drawn, rows]];
           }))"""
    )


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("role", sorted(ACCOUNTS))
def test_insights_draw_every_chart_with_its_table_and_no_violation(
    page, live_server, history, role, size
):
    page.set_viewport_size(SIZES[size])
    problems = watch_policy(page)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, live_server, *ACCOUNTS[role])
    expect(page.locator("main")).to_be_visible()
    page.goto(f"{live_server.url}/insights/")
    page.wait_for_load_state("networkidle")
    assert charts_drawn(page) == dict.fromkeys(CHARTS, True)
    for name, (drawn, rows) in tables_as_drawn(page).items():
        assert drawn == rows, name
        assert any(v for row in drawn for v in row[1:]), name  # something drawn in each
    assert problems == [] and errors == []
    assert axe_violations(page) == [], page.url
    for details in page.locator("#insights-funnel details, #insights-workload details").all():
        details.locator("summary").click()
    assert axe_violations(page) == [], "tables open"
    page.goto(f"{live_server.url}/")
    page.wait_for_load_state("networkidle")
    assert axe_violations(page) == [], page.url
    assert problems == [] and errors == []


def test_a_charts_csv_downloads_the_numbers_of_its_table(page, live_server, history):
    sign_in(page, live_server, *ACCOUNTS["agent"])
    page.goto(f"{live_server.url}/insights/?range=7&tag=hot")
    page.wait_for_load_state("networkidle")
    _, rows = tables_as_drawn(page)["funnel"]
    with page.expect_download() as download:
        page.click("#csv-funnel")
    assert download.value.suggested_filename.startswith("insights-funnel-")
    text = open(download.value.path(), encoding="utf-8").read()
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["Status", "Leads"]
    assert [int(row[1]) for row in table[1:]] == [row[1] for row in rows]
    assert sum(row[1] for row in rows) == sum(1 for n in range(24) if n % 5 != 4 and n % 3 < 2)


def test_a_click_on_a_bar_opens_the_list_of_those_leads(page, live_server, history):
    sign_in(page, live_server, *ACCOUNTS["lead admin"])
    page.goto(f"{live_server.url}/insights/")
    page.wait_for_load_state("networkidle")
    point = page.evaluate(
        """() => {
             const canvas = document.querySelector('canvas[data-chart="chart-data-funnel"]');
             const bar = window.Chart.getChart(canvas).getDatasetMeta(0).data[0];
             const box = canvas.getBoundingClientRect();
             return {x: box.left + (bar.x + bar.base) / 2, y: box.top + bar.y};
           }"""
    )
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url("**/leads/?status=OPEN**")
    expect(page.locator("h1")).to_contain_text("Leads")
