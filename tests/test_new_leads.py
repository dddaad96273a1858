"""What is new: the "N new leads — show" bar counts the leads that reached the mirror after the
list was drawn (in the list's filters and bots), cheaply; a lead a person has not opened yet and
that arrived recently is marked new for them, until they open it."""

import copy
import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.models import Bot, LeadSeen
from tests.factories import env_bot, make_chat, make_lead

pytestmark = pytest.mark.django_db


def poll_url(client, query: str = "") -> str:
    """The address the list's new-leads bar polls, as the list drew it."""
    html = client.get("/leads/" + (f"?{query}" if query else "")).content.decode()
    bar = re.search(r'<div id="new-leads"[^>]*hx-get="([^"]+)"[^>]*hx-trigger="bp-poll"', html)
    assert bar, "no new-leads bar"
    return unescape(bar.group(1))


def bar_text(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def rows(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-uuid="([^"]+)"(.*?)</tr>', html, re.S))


def recent(**delta):
    return timezone.now() - timedelta(**delta)


def test_a_lead_that_arrives_after_the_list_was_drawn_is_announced(agent_client):
    make_lead(1)
    url = poll_url(agent_client)
    assert bar_text(agent_client, url) == ""
    make_lead(2)
    assert bar_text(agent_client, url) == "1 new lead — show"
    make_lead(3)
    text = agent_client.get(url).content.decode()
    assert "2</strong> new leads" in text
    # "show" opens the same list again, on its first page
    assert 'href="/leads/"' in text


def test_only_new_leads_the_list_would_show_count(agent_client, user):
    env_bot()
    hidden = Bot.objects.create(
        name="Hidden", api_url="http://x", remote_bot_id="h", customer_id="c"
    )
    make_lead(1, tags=["vip"])
    url = poll_url(agent_client, "tag=vip&sort=name&page=2")
    assert "since=" in url and "page=" not in url
    make_lead(2, tags=["other"])  # not in the list's filter
    make_lead(3, tags=["vip"], is_lead=False)  # another kind of chat
    make_lead(4, tags=["vip"], bot=hidden)  # another team's bot
    assert bar_text(agent_client, url) == ""
    make_lead(5, tags=["VIP"])
    response = agent_client.get(url).content.decode()
    assert "1</strong> new lead" in response
    assert 'href="/leads/?tag=vip&amp;sort=name"' in response


def test_an_empty_list_counts_from_the_newest_lead_of_the_mirror(agent_client, monkeypatch):
    from leads.selectors import queues

    monkeypatch.setattr(queues, "NEW_WINDOW", 2)  # fewer than the leads already there
    for n in range(5):
        make_lead(n, tags=["other"])
    url = poll_url(agent_client, "tag=vip")
    make_lead(9, tags=["vip"])
    assert bar_text(agent_client, url) == "1 new lead — show"


def test_a_lead_that_changes_is_not_new(agent_client):
    lead = make_lead(1, status="OPEN")
    url = poll_url(agent_client)
    lead.status = "REVIEW"
    lead.remote_updated_at = timezone.now()
    lead.save()
    assert bar_text(agent_client, url) == ""


def test_many_new_leads_are_counted_up_to_a_cap(agent_client, monkeypatch):
    from leads.selectors import queues

    monkeypatch.setattr(queues, "NEW_CAP", 3)
    url = poll_url(agent_client)
    for n in range(5):
        make_lead(n)
    assert bar_text(agent_client, url) == "2+ new leads — show"


def test_the_poll_reads_the_new_ids_by_primary_key_then_counts_those_only(agent_client):
    for n in range(30):
        make_lead(n)
    url = poll_url(agent_client, "status=OPEN")
    with CaptureQueriesContext(connection) as ctx:
        agent_client.get(url)
    sql = [q["sql"] for q in ctx.captured_queries]
    # the session, its user, their bots and the ids past the list's newest: none, no count
    assert len(sql) <= 4 and not [q for q in sql if "COUNT" in q.upper()], sql
    assert re.search(
        r'FROM "leads_lead" WHERE "leads_lead"."id" > \d+ ORDER BY 1 ASC LIMIT', sql[-1]
    )

    make_lead(40)
    with CaptureQueriesContext(connection) as ctx:
        agent_client.get(url)
    sql = [q["sql"] for q in ctx.captured_queries]
    assert len(sql) <= 5, sql
    (count,) = [q for q in sql if "COUNT" in q.upper()]
    assert re.search(r'"leads_lead"."id" IN \(\d+\)', count) and "LIMIT 100" in count, count


def test_a_poll_without_its_mark_is_refused(agent_client):
    assert agent_client.get("/new-leads/?since=abc").status_code == 400


def test_the_list_keeps_its_query_budget_with_marks_and_bar(agent_client):
    for n in range(30):
        make_lead(n, remote_created_at=recent(hours=n))  # all arrived recently: all new
    agent_client.get("/leads/")
    with CaptureQueriesContext(connection) as ctx:
        response = agent_client.get("/leads/")
    sql = [q["sql"] for q in ctx.captured_queries]
    # the session, its user, their bots, the rows, and which of them the person has opened
    assert len(sql) <= 5, sql
    assert len([q for q in sql if "leads_leadseen" in q]) == 1
    assert len(re.findall(r'class="mark mark-new"', response.content.decode())) == 25


# --- new for me -------------------------------------------------------------------------------


def test_a_lead_is_new_for_a_person_until_they_open_it(client, user, lead_admin, settings):
    settings.BOTPANEL_NEW_LEAD_DAYS = 7
    fresh = make_lead(1, remote_created_at=recent(days=2))
    old = make_lead(2, remote_created_at=recent(days=8))
    client.force_login(user)
    shown = rows(client.get("/leads/").content.decode())
    assert 'class="mark mark-new">New<' in shown[fresh.uuid]
    assert "mark-new" not in shown[old.uuid]

    assert client.get(f"/leads/{fresh.uuid}/").status_code == 200
    seen = LeadSeen.objects.get(user=user, lead=fresh)
    assert timezone.now() - seen.seen_at < timedelta(minutes=1)
    assert "mark-new" not in rows(client.get("/leads/").content.decode())[fresh.uuid]
    # opening an old lead writes nothing: it is never new
    client.get(f"/leads/{old.uuid}/")
    assert not LeadSeen.objects.filter(lead=old).exists()

    client.force_login(lead_admin)  # still new for everyone else
    assert "mark-new" in rows(client.get("/leads/").content.decode())[fresh.uuid]


def test_opening_a_lead_again_writes_one_row(agent_client, user):
    fresh = make_lead(1, remote_created_at=recent(hours=1))
    agent_client.get(f"/leads/{fresh.uuid}/")
    first = LeadSeen.objects.get().seen_at
    agent_client.get(f"/leads/{fresh.uuid}/")
    assert LeadSeen.objects.count() == 1 and LeadSeen.objects.get().seen_at >= first


def test_the_new_days_setting_applies(agent_client, settings):
    lead = make_lead(1, remote_created_at=recent(days=2))
    settings.BOTPANEL_NEW_LEAD_DAYS = 1
    assert "mark-new" not in rows(agent_client.get("/leads/").content.decode())[lead.uuid]
    settings.BOTPANEL_NEW_LEAD_DAYS = 3
    assert "mark-new" in rows(agent_client.get("/leads/").content.decode())[lead.uuid]


def test_the_detail_page_shows_waiting_since_and_overdue(agent_client):
    late = make_lead(1, status="OPEN", waiting_since=recent(hours=5))
    fine = make_lead(2, status="OPEN", waiting_since=recent(hours=1))
    html = agent_client.get(f"/leads/{late.uuid}/").content.decode()
    assert 'id="waiting-since"' in html and 'id="lead-overdue"' in html
    html = agent_client.get(f"/leads/{fine.uuid}/").content.decode()
    assert 'id="waiting-since"' in html and 'id="lead-overdue"' not in html


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_a_lead_synced_while_the_list_is_open_is_announced(botpenguin, agent_client):
    from leads.sync.run import sync_leads

    botpenguin.sandbox.add_chat(copy.deepcopy(make_chat(1)), is_lead=True)
    sync_leads(kinds=["lead"])
    url = poll_url(agent_client)
    assert bar_text(agent_client, url) == ""
    botpenguin.sandbox.add_chat(copy.deepcopy(make_chat(2)), is_lead=True)
    sync_leads(kinds=["lead"])
    assert bar_text(agent_client, url) == "1 new lead — show"
