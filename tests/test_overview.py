"""The overview as a landing page (issue 19): my queue, overdue, unassigned and new today, the
funnel, the last sync per bot and the edits waiting, each number the count of the list (or the
Activity page) it links to; cached, in a constant number of queries."""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.models import AgentProfile, Bot, LeadChange, SyncRun
from tests.factories import env_bot, make_lead

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
ME = "agent-asha"


def count_of(html: str, key: str) -> str:
    return re.search(rf'id="count-{key}">([^<]+)<', html).group(1)


def link_of(html: str, key: str) -> str:
    return re.search(rf'href="([^"]+)" id="overview-{key}"', html).group(1).replace("&amp;", "&")


def listed(client, url: str) -> int:
    return client.get(url).context["table"].paginator.count


@pytest.fixture
def landing(user):
    """Leads of every kind the numbers count, in Kolkata, where "today" began at 18:30 UTC."""
    AgentProfile.objects.create(user=user, agent_id=ME, time_zone="Asia/Kolkata")
    now = timezone.now()
    midnight = datetime.combine(now.astimezone(KOLKATA).date(), time.min, tzinfo=KOLKATA)
    long_ago = now - timedelta(days=3)
    rows = [
        # (status, agent, arrived, waiting for)
        ("OPEN", ME, midnight + timedelta(minutes=1), timedelta(hours=5)),  # overdue (4 h)
        ("INPROGRESS", ME, long_ago, timedelta(hours=1)),
        ("CLOSED", ME, midnight + timedelta(minutes=2), timedelta(hours=100)),
        ("OPEN", "", midnight - timedelta(minutes=1), timedelta(minutes=5)),  # yesterday
        ("REVIEW", "", long_ago, timedelta(hours=30)),  # overdue (24 h)
        ("ONHOLD", "someone-else", long_ago, timedelta(hours=2)),
        ("OPEN", "someone-else", None, None),
    ]
    made = [
        make_lead(
            n,
            status=status,
            agent_id=agent,
            remote_created_at=arrived,
            waiting_since=None if waited is None else now - waited,
        )
        for n, (status, agent, arrived, waited) in enumerate(rows)
    ]
    make_lead(50, is_lead=False, status="OPEN", agent_id=ME)  # another chat: counted nowhere
    return made


def test_each_number_is_the_count_of_the_list_it_opens(agent_client, landing):
    html = agent_client.get("/").content.decode()
    expected = {"mine": 2, "overdue": 2, "unassigned": 2, "new_today": 2}
    for key, count in expected.items():
        assert count_of(html, key) == str(count), key
        assert listed(agent_client, link_of(html, key)) == count, key
    assert link_of(html, "mine") == "/leads/?agent=me&status_not=CLOSED"


def test_the_funnel_links_each_status_to_its_list(agent_client, landing):
    html = agent_client.get("/").content.decode()
    steps = re.findall(
        r'href="(/leads/\?status=(\w+))">[^<]+<span class="fw-semibold">(\d+)</span>', html
    )
    assert [(code, int(n)) for _, code, n in steps] == [
        ("OPEN", 3),
        ("INPROGRESS", 1),
        ("REVIEW", 1),
        ("ONHOLD", 1),
        ("DEPENDANCY", 0),
        ("CLOSED", 1),
    ]
    for url, _, n in steps:
        assert listed(agent_client, url) == int(n)


def test_the_last_sync_of_each_bot_and_the_edits_waiting(agent_client, user, landing):
    mine = env_bot()
    other = Bot.objects.create(
        name="Another", api_url="http://127.0.0.1:9", remote_bot_id="x", customer_id="c"
    )
    hidden = Bot.objects.create(
        name="Hidden", api_url="http://127.0.0.1:9", remote_bot_id="y", customer_id="c"
    )
    mine.members.add(user)
    other.members.add(user)
    now = timezone.now()
    SyncRun.objects.create(bot=mine, state="succeeded", created=4, finished_at=now)
    SyncRun.objects.create(bot=mine, state="failed", error="BotPenguin rejected the API token.")
    SyncRun.objects.create(bot=hidden, state="failed", error="Hidden bot's error")
    LeadChange.objects.create(lead=landing[0], action="status", state="pending")
    LeadChange.objects.create(lead=landing[1], action="status", state="failed")
    LeadChange.objects.create(lead=landing[1], action="status", state="failed")
    html = agent_client.get("/").content.decode()
    table = html[
        html.index('id="overview-syncs"') : html.index(
            "</table>", html.index('id="overview-syncs"')
        )
    ]
    rows = re.findall(r"<tr>\s*<th scope=\"row\"[^>]*>([^<]+)</th>(.*?)</tr>", table, re.S)
    assert [name for name, _ in rows] == ["Another", "BotPenguin"]
    assert "Never" in rows[0][1] and "None yet" in rows[0][1]
    assert "Failed" in rows[1][1] and "rejected the API token" in rows[1][1]
    assert "4 created" in rows[1][1]
    assert "Hidden" not in table  # (the frame's own sync status is the installation's)
    assert re.search(r'href="/activity/\?state=pending" id="overview-pending">1 pending<', html)
    assert re.search(r'id="overview-failed" class="link-danger">2 failed<', html)
    activity = agent_client.get("/activity/?state=failed")
    assert activity.context["table"].paginator.count == 2


def test_the_overview_costs_a_constant_number_of_queries(agent_client, landing):
    agent_client.get("/")
    with CaptureQueriesContext(connection) as warm:
        agent_client.get("/")
    for n in range(100, 130):
        make_lead(n, agent_id=ME, remote_created_at=timezone.now())
    with CaptureQueriesContext(connection) as cold:
        html = agent_client.get("/").content.decode()
    assert count_of(html, "mine") == "32" and count_of(html, "new_today") == "32"
    with CaptureQueriesContext(connection) as warm_again:
        agent_client.get("/")
    # Cached per mirror version: a visit reads the session, the person, their bots, the
    # pending and failed edits; a new mirror version a handful more, whatever the leads.
    assert len(warm.captured_queries) == len(warm_again.captured_queries) <= 6
    assert len(cold.captured_queries) <= len(warm.captured_queries) + 8
