"""The built-in queues (My leads, Unassigned, All open, Overdue, Recently updated): their filters,
their counts in the list's side panel per person and bot, and overdue by the lead admins' rules."""

import re
from datetime import UTC, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.models import Bot, OverdueRule
from tests.factories import env_bot, link, make_lead

pytestmark = pytest.mark.django_db

QUEUE = re.compile(
    r'data-queue="([a-z]+)"[^>]*><span class="queue-name">[^<]*</span>'
    r'<span class="queue-count">([^<]*)</span>'
)


def panel_counts(client, query: str = "") -> dict[str, str]:
    """The counts the side panel shows per queue, as its own request answers them."""
    response = client.get("/views/panel/" + (f"?{query}" if query else ""))
    assert response.status_code == 200
    return dict(QUEUE.findall(response.content.decode()))


def listed(client, query: str) -> set[str]:
    html = client.get(f"/leads/?{query}").content.decode()
    return set(re.findall(r'<tr data-uuid="([^"]+)"', html))


def ago(**delta):
    return timezone.now() - timedelta(**delta)


@pytest.fixture
def team(user):
    """The agent is linked to A1: two leads of theirs (one closed), two unassigned (one closed),
    one of B2; one open lead waits 5 hours (overdue after Open's 4), one was updated an hour ago."""
    link(user, "A1")
    old = ago(days=30)
    leads = {
        "mine_open": make_lead(1, agent_id="A1", status="OPEN", waiting_since=ago(hours=1)),
        "mine_closed": make_lead(2, agent_id="A1", status="CLOSED", waiting_since=old),
        "free_open": make_lead(3, agent_id="", status="REVIEW", waiting_since=ago(hours=2)),
        "free_closed": make_lead(4, agent_id="", status="CLOSED", waiting_since=old),
        "other": make_lead(5, agent_id="B2", status="ONHOLD", waiting_since=ago(hours=3)),
        "late": make_lead(6, agent_id="B2", status="OPEN", waiting_since=ago(hours=5)),
        "fresh": make_lead(
            7,
            agent_id="B2",
            status="INPROGRESS",
            waiting_since=ago(hours=1),
            remote_updated_at=ago(hours=1),
        ),
    }
    return {name: lead.uuid for name, lead in leads.items()}


def test_each_queue_lists_and_counts_its_leads(agent_client, team):
    counts = panel_counts(agent_client)
    assert counts == {"mine": "1", "unassigned": "1", "open": "5", "overdue": "1", "recent": "1"}
    assert listed(agent_client, "agent=me&status_not=CLOSED") == {team["mine_open"]}
    assert listed(agent_client, "agent=none&status_not=CLOSED") == {team["free_open"]}
    assert listed(agent_client, "status_not=CLOSED") == {
        team[name] for name in ("mine_open", "free_open", "other", "late", "fresh")
    }
    assert listed(agent_client, "overdue=1") == {team["late"]}
    assert listed(agent_client, "updated_within=24") == {team["fresh"]}


def test_the_panel_links_each_queue_to_its_list_and_marks_the_one_shown(agent_client, team):
    html = agent_client.get("/leads/?overdue=1").content.decode()
    assert 'href="/leads/?agent=me&amp;status_not=CLOSED"' in html
    assert re.search(
        r'class="queue-link active" href="/leads/\?overdue=1"[^>]*aria-current="page"', html
    )
    # the counts come with the panel's own request, which the list page asks for once shown
    assert 'hx-get="/views/panel/?overdue=1" hx-trigger="load"' in html


def test_the_filter_form_keeps_the_queue_it_refines(agent_client, team):
    html = agent_client.get(
        "/leads/?agent=none&status_not=CLOSED&status_not=ONHOLD"
    ).content.decode()
    form = html.split('id="filter-form"')[1].split("</form>")[0]
    assert '<input type="hidden" name="status_not" value="CLOSED">' in form
    assert '<input type="hidden" name="status_not" value="ONHOLD">' in form
    assert 'name="overdue"' not in form


def test_my_leads_is_each_persons_own(client, team, user, lead_admin):
    link(lead_admin, "B2")
    client.force_login(lead_admin)
    assert panel_counts(client)["mine"] == "3"
    assert listed(client, "agent=me&status_not=CLOSED") == {
        team["other"],
        team["late"],
        team["fresh"],
    }
    client.force_login(user)
    assert panel_counts(client)["mine"] == "1"


def test_a_person_linked_to_no_agent_id_has_no_leads_of_their_own(lead_admin_client, team):
    assert panel_counts(lead_admin_client)["mine"] == "0"
    assert listed(lead_admin_client, "agent=me&status_not=CLOSED") == set()


def test_counts_follow_the_bot_in_scope_and_never_count_another_teams_leads(agent_client, user):
    website = env_bot()
    whatsapp = Bot.objects.create(
        name="WhatsApp", api_url="http://x", remote_bot_id="w", customer_id="c"
    )
    hidden = Bot.objects.create(
        name="Hidden", api_url="http://x", remote_bot_id="h", customer_id="c"
    )
    whatsapp.members.add(user)
    make_lead(1, bot=website, status="OPEN")
    make_lead(2, bot=website, status="CLOSED")
    make_lead(3, bot=whatsapp, status="REVIEW")
    make_lead(4, bot=whatsapp, status="ONHOLD")
    for n in range(10, 15):
        make_lead(n, bot=hidden, status="OPEN")

    assert panel_counts(agent_client, "bot=all")["open"] == "3"
    assert panel_counts(agent_client, f"bot={website.pk}")["open"] == "1"
    assert panel_counts(agent_client, f"bot={whatsapp.pk}")["open"] == "2"
    # another team's bot in the URL narrows nothing into view
    assert panel_counts(agent_client, f"bot={hidden.pk}")["open"] == "0"
    # the list remembers the bot chosen last; the panel counts in it
    agent_client.get(f"/leads/?bot={whatsapp.pk}")
    assert panel_counts(agent_client)["open"] == "2"


def test_counts_are_computed_once_per_change_of_the_mirror(agent_client, team):
    panel_counts(agent_client)
    with CaptureQueriesContext(connection) as ctx:
        counts = panel_counts(agent_client)
    counting = [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counting == [] and counts["open"] == "5"

    make_lead(20, status="OPEN", waiting_since=ago(minutes=5))  # a change of the mirror
    assert panel_counts(agent_client)["open"] == "6"


def test_a_count_the_list_has_already_made_is_shown_exact(agent_client, settings, team):
    from leads.selectors import queues

    queues.COUNT_CAP, cap = 3, queues.COUNT_CAP
    try:
        assert panel_counts(agent_client)["open"] == "3+"
        agent_client.get("/leads/?status_not=CLOSED")  # the list counts its 5 rows
        assert panel_counts(agent_client)["open"] == "5"
    finally:
        queues.COUNT_CAP = cap


def test_the_list_page_reads_no_count_of_the_panel(agent_client, team):
    agent_client.get("/leads/")
    with CaptureQueriesContext(connection) as ctx:
        response = agent_client.get("/leads/")
    assert 'id="queues-list"' in response.content.decode()
    # the session, the user, their bots and the rows: the panel's counts are its own request's
    assert len(ctx.captured_queries) <= 4, [q["sql"] for q in ctx.captured_queries]


# --- overdue -----------------------------------------------------------------------------------


def test_overdue_starts_strictly_after_the_rules_minutes(agent_client):
    now = timezone.now()
    OverdueRule.objects.filter(status="OPEN").update(after_minutes=240)
    on_time = make_lead(1, status="OPEN", waiting_since=now - timedelta(minutes=239))
    late = make_lead(2, status="OPEN", waiting_since=now - timedelta(minutes=241))
    unknown = make_lead(3, status="OPEN", waiting_since=None)
    closed = make_lead(4, status="CLOSED", waiting_since=now - timedelta(days=400))
    shown = listed(agent_client, "overdue=1")
    assert late.uuid in shown
    assert not {on_time.uuid, unknown.uuid, closed.uuid} & shown


def test_each_status_has_its_own_threshold(agent_client):
    open_lead = make_lead(1, status="OPEN", waiting_since=ago(hours=5))  # Open: 4 h
    review = make_lead(2, status="REVIEW", waiting_since=ago(hours=5))  # Review: 24 h
    on_hold = make_lead(3, status="ONHOLD", waiting_since=ago(days=4))  # On hold: 72 h
    assert listed(agent_client, "overdue=1") == {open_lead.uuid, on_hold.uuid}
    assert review.uuid not in listed(agent_client, "overdue=1")


def test_a_changed_rule_applies_at_once_to_the_filter_the_rows_and_the_count(agent_client):
    review = make_lead(1, status="REVIEW", waiting_since=ago(hours=5))
    assert panel_counts(agent_client)["overdue"] == "0"
    rule = OverdueRule.objects.get(status="REVIEW")
    rule.after_minutes = 60
    rule.save()
    assert listed(agent_client, "overdue=1") == {review.uuid}
    assert panel_counts(agent_client)["overdue"] == "1"
    assert re.search(
        rf'data-uuid="{review.uuid}".*?mark-overdue',
        agent_client.get("/leads/").content.decode(),
        re.S,
    )
    rule.delete()  # a status without a rule is never overdue
    assert listed(agent_client, "overdue=1") == set()


def test_rows_of_overdue_leads_are_marked_and_the_others_not(agent_client):
    late = make_lead(1, status="OPEN", waiting_since=ago(hours=5))
    fine = make_lead(2, status="OPEN", waiting_since=ago(hours=1))
    html = agent_client.get("/leads/").content.decode()
    rows = dict(re.findall(r'<tr data-uuid="([^"]+)"(.*?)</tr>', html, re.S))
    assert 'class="mark mark-overdue">Overdue<' in rows[late.uuid]
    assert "mark-overdue" not in rows[fine.uuid]
    # the waiting time is a moment the page tells relative to now
    since = late.waiting_since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f'<time datetime="{since}"' in rows[late.uuid]


def test_bad_queue_filters_are_reported_and_the_list_still_shows(agent_client):
    make_lead(1)
    response = agent_client.get("/leads/?overdue=yes&status_not=NOPE&updated_within=0")
    assert response.status_code == 200
    errors = response.content.decode().split('id="filter-errors"')[1].split("</div>")[0]
    assert "overdue" in errors and "status_not" in errors and "updated_within" in errors


def test_lead_admins_set_the_thresholds_in_the_admin_and_agents_cannot(client, lead_admin, user):
    rule = OverdueRule.objects.get(status="OPEN")
    client.force_login(lead_admin)
    page = client.get("/admin/leads/overduerule/")
    assert page.status_code == 200 and "4 h" in page.content.decode()
    response = client.post(
        f"/admin/leads/overduerule/{rule.pk}/change/", {"status": "OPEN", "after_minutes": "30"}
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.after_minutes == 30

    client.force_login(user)
    assert client.get("/admin/leads/overduerule/").status_code in (302, 403)
