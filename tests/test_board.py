"""The pipeline board (/board/): its columns and counts against the database for the list's
filters, search, bot scope and saved views; a column's further pages; Closed's last 30 days; a
card moved (htmx and without JavaScript) as one status PUT with its history, a stale card's
conflict, pending and refused moves, undo, permissions and the board's constant query count.

Expected figures are computed here from the rows themselves (plain Python over every lead),
not through the selectors under test."""

from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads import rollup, services
from leads.models import Bot, Lead, LeadChange, SavedView, StatusChange
from tests.factories import BOT_ID, CUSTOMER_ID, env_bot, link, make_lead

pytestmark = pytest.mark.django_db

STATUSES = ["OPEN", "INPROGRESS", "REVIEW", "ONHOLD", "DEPENDANCY", "CLOSED"]
AGENT = "64a1a9d0aa00000000000042"
OTHER_AGENT = "64a1a9d0aa00000000000077"


class BoardPage(HTMLParser):
    """What a person sees of the board: per column its count, its cards' uuids (in order) and
    the URL its next page loads from; the page's links and status sentences."""

    def __init__(self, html: str):
        super().__init__()
        self.columns: dict[str, dict] = {}
        self.links: dict[str, str] = {}
        self._column = None
        self._count = None
        self._link = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "ol" and "board-cards" in classes:
            self._column = self.columns.setdefault(
                attrs["data-status"], {"count": None, "uuids": [], "more": None}
            )
        elif tag == "li" and "board-card" in classes:
            column = self.columns.setdefault(
                attrs["data-status"], {"count": None, "uuids": [], "more": None}
            )
            (self._column or column)["uuids"].append(attrs["data-uuid"])
        elif tag == "li" and "board-more" in classes and self._column is not None:
            self._column["more"] = attrs.get("hx-get")
        elif tag == "span" and attrs.get("data-count"):
            self._count = attrs["data-count"]
        elif tag == "a" and attrs.get("href") is not None:
            self._link = attrs["href"]
            self.links.setdefault(f"#{attrs['id']}" if attrs.get("id") else "", attrs["href"])

    def handle_endtag(self, tag):
        if tag == "ol":
            self._column = None
        if tag == "a":
            self._link = None

    def handle_data(self, data):
        if self._count is not None:
            self.columns.setdefault(self._count, {"count": None, "uuids": [], "more": None})
            self.columns[self._count]["count"] = int(data.replace(",", "").strip())
            self._count = None
        if self._link is not None and data.strip():
            self.links.setdefault(data.strip(), self._link)


def board_of(client, url: str = "/board/") -> BoardPage:
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return BoardPage(response.content.decode())


def waiting_order(leads: list[Lead]) -> list[Lead]:
    """Newest in their status first, then highest id; leads without a date where the database
    puts NULLs in a descending order (first on PostgreSQL, last on SQLite)."""
    dated = sorted(
        (lead for lead in leads if lead.waiting_since),
        key=lambda lead: (lead.waiting_since, lead.id),
        reverse=True,
    )
    undated = sorted((lead for lead in leads if not lead.waiting_since), key=lambda x: -x.id)
    return undated + dated if connection.vendor == "postgresql" else dated + undated


def expected_board(
    keep, *, closed_all: bool = False, statuses=STATUSES, is_lead: bool = True
) -> dict:
    """Per status: (count, the first 50 uuids) of the leads (or other chats) `keep` accepts,
    by reading every lead of the mirror."""
    since = timezone.now() - timedelta(days=30)
    found = {}
    for status in statuses:
        leads = [
            lead
            for lead in Lead.objects.all()
            if lead.is_lead == is_lead and lead.status == status and keep(lead)
            if closed_all
            or status != "CLOSED"
            or (lead.waiting_since is not None and lead.waiting_since >= since)
        ]
        found[status] = (len(leads), [lead.uuid for lead in waiting_order(leads)[:50]])
    return found


def shown(page: BoardPage) -> dict:
    return {status: (c["count"], c["uuids"]) for status, c in page.columns.items()}


def second_bot(user) -> Bot:
    bot = Bot.objects.create(
        name="WhatsApp", api_url="http://127.0.0.1:9", remote_bot_id="wa-bot", customer_id="c2"
    )
    bot.members.add(user)
    return bot


@pytest.fixture(params=["counted live", "counted by the insights' rollup"])
def mirror(request, user):
    """Leads of two bots the agent sees in every status: tags, agents, names and none, dates and
    none, closed lately and long ago, other chats; and one bot the agent does not see. The
    columns of whole bots are counted from the mirror, or from the insights' rollup (with one
    day not refreshed yet, as after a sync)."""
    now = timezone.now()
    env = env_bot()
    whatsapp = second_bot(user)
    hidden = Bot.objects.create(
        name="Hidden", api_url="http://127.0.0.1:9", remote_bot_id="hid", customer_id="c3"
    )
    for n in range(60):
        make_lead(
            n,
            bot=whatsapp if n % 3 == 0 else env,
            name="" if n % 11 == 0 else f"{['Ann', 'Ravi', 'Zoë'][n % 3]} {n}",
            email="" if n % 11 == 0 else f"p{n}@example.org",
            status=STATUSES[n % 6],
            tags=[["VIP"], ["hot", "vip"], []][n % 3] if n % 4 else ["hot"],
            agent_id=[AGENT, OTHER_AGENT, ""][n % 3],
            is_lead=n % 10 != 9,
            waiting_since=None if n % 13 == 0 else now - timedelta(days=(n * 7) % 50, minutes=n),
        )
    for n in range(60, 64):
        make_lead(n, bot=hidden, status=STATUSES[n % 6], waiting_since=now)
    if request.param != "counted live":
        rollup.rebuild()
        rollup.refresh()
        late = make_lead(64, bot=env, status="REVIEW", waiting_since=now)
        rollup.touch([late.pk])
    return {"env": env, "whatsapp": whatsapp, "hidden": hidden}


def visible_to_agent(lead: Lead, mirror) -> bool:
    return lead.bot_id in (mirror["env"].pk, mirror["whatsapp"].pk)


# --- columns and counts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "keep"),
    [
        ("", lambda lead: True),
        ("q=ann", lambda lead: "ann" in f"{lead.name} {lead.email} {lead.phone}".casefold()),
        ("tag=VIP", lambda lead: "vip" in [t.casefold() for t in lead.tags]),
        (f"agent={AGENT}", lambda lead: lead.agent_id == AGENT),
        ("agent=none", lambda lead: lead.agent_id == ""),
        ("q=ravi&tag=hot", lambda lead: "ravi" in lead.name.casefold() and "hot" in lead.tags),
        ("type=non-lead", lambda lead: True),
    ],
)
def test_columns_match_the_database_for_the_lists_filters(agent_client, mirror, query, keep):
    page = board_of(agent_client, f"/board/?{query}")
    expected = expected_board(
        lambda lead: visible_to_agent(lead, mirror) and keep(lead), is_lead=query != "type=non-lead"
    )
    assert shown(page) == expected
    assert sum(count for count, _ in expected.values()) > 0


def test_the_bot_scope_is_the_lists(agent_client, mirror):
    whatsapp = mirror["whatsapp"]
    page = board_of(agent_client, f"/board/?bot={whatsapp.pk}")
    assert shown(page) == expected_board(lambda lead: lead.bot_id == whatsapp.pk)
    # Remembered, as the list remembers it, until "All bots".
    assert shown(board_of(agent_client)) == shown(page)
    everything = board_of(agent_client, "/board/?bot=all")
    assert shown(everything) == expected_board(lambda lead: visible_to_agent(lead, mirror))
    # A bot the person does not see narrows nothing and shows nothing of it.
    hidden = board_of(agent_client, f"/board/?bot={mirror['hidden'].pk}")
    assert not any(
        uuid.endswith(("60", "61", "62", "63"))
        for _, uuids in shown(hidden).values()
        for uuid in uuids
    )


def test_a_queue_leaves_out_the_statuses_it_excludes(agent_client, mirror):
    page = board_of(agent_client, "/board/?status_not=CLOSED&agent=none")
    assert list(page.columns) == STATUSES[:5]
    assert shown(page) == expected_board(
        lambda lead: visible_to_agent(lead, mirror) and lead.agent_id == "", statuses=STATUSES[:5]
    )
    two = board_of(agent_client, "/board/?status=OPEN&status=REVIEW")
    assert list(two.columns) == ["OPEN", "REVIEW"]


def test_a_saved_view_opens_on_the_board_with_the_same_leads(agent_client, user, mirror):
    link(user, AGENT)
    view = SavedView.objects.create(owner=user, name="My hot ones", query="tag=hot&agent=me")
    page = board_of(agent_client)
    url = page.links["My hot ones"]
    assert url == f"/board/?{view.query}"
    assert shown(board_of(agent_client, url)) == expected_board(
        lambda lead: (
            visible_to_agent(lead, mirror) and "hot" in lead.tags and lead.agent_id == AGENT
        )
    )
    # The switch to the list keeps the query (me made the person's id, as the list does).
    list_url = board_of(agent_client, url).links["#show-list"]
    assert urlsplit(list_url).path == "/leads/"
    assert parse_qs(urlsplit(list_url).query) == {"tag": ["hot"], "agent": [AGENT]}


def test_the_lists_switch_opens_the_board_with_its_query(agent_client, mirror):
    html = agent_client.get("/leads/?tag=hot&status_not=CLOSED&sort=name").content.decode()
    page = BoardPage(html)
    url = page.links["#show-board"]
    assert urlsplit(url).path == "/board/"
    assert parse_qs(urlsplit(url).query) == {"tag": ["hot"], "status_not": ["CLOSED"]}
    assert 'href="/board/"' in agent_client.get("/leads/").content.decode()  # the navigation


def test_a_filter_the_list_refuses_shows_no_leads_and_says_why(agent_client, mirror):
    response = agent_client.get("/board/?updated_within=0")
    html = response.content.decode()
    assert response.status_code == 200 and 'id="filter-errors"' in html
    assert all(c["uuids"] == [] for c in BoardPage(html).columns.values())


# --- closed in the last 30 days ------------------------------------------------------------------


def test_closed_shows_the_last_30_days_unless_all_are_asked_for(agent_client):
    now = timezone.now()
    recent = make_lead(1, status="CLOSED", waiting_since=now - timedelta(days=29))
    old = make_lead(2, status="CLOSED", waiting_since=now - timedelta(days=31))
    undated = make_lead(3, status="CLOSED", waiting_since=None)
    page = board_of(agent_client)
    assert page.columns["CLOSED"]["uuids"] == [recent.uuid]
    assert page.columns["CLOSED"]["count"] == 1
    url = page.links["#show-all-closed"]
    assert "show all closed (3)" in agent_client.get("/board/").content.decode()
    every = board_of(agent_client, url)
    assert every.columns["CLOSED"]["count"] == 3
    assert set(every.columns["CLOSED"]["uuids"]) == {recent.uuid, old.uuid, undated.uuid}
    assert every.links["only the last 30 days"] == "/board/"


# --- further pages -------------------------------------------------------------------------------


def test_further_pages_neither_repeat_nor_skip_a_card(agent_client):
    now = timezone.now()
    leads = [
        make_lead(
            n,
            status="REVIEW",
            # Ties on the date, a run of leads without one, and distinct dates.
            waiting_since=None if n % 7 == 0 else now - timedelta(hours=n // 3),
        )
        for n in range(130)
    ]
    page = board_of(agent_client)
    column = page.columns["REVIEW"]
    assert column["count"] == 130 and len(column["uuids"]) == 50
    seen, more, pages = list(column["uuids"]), column["more"], 1
    while more:
        response = agent_client.get(more, headers={"HX-Request": "true"})
        assert response.status_code == 200
        part = BoardPage(
            "<ol class='board-cards' data-status='REVIEW'>" + response.content.decode()
        )
        seen += part.columns["REVIEW"]["uuids"]
        more = part.columns["REVIEW"]["more"]
        pages += 1
    assert pages == 3
    assert seen == [lead.uuid for lead in waiting_order(leads)]


def test_a_further_page_without_javascript_is_a_page_of_its_own(agent_client):
    for n in range(55):
        make_lead(n, status="ONHOLD", waiting_since=timezone.now() - timedelta(minutes=n))
    more = board_of(agent_client).columns["ONHOLD"]["more"]
    html = agent_client.get(more).content.decode()
    assert "<h1" in html and "Back to the board" in html
    assert len(BoardPage(html).columns["ONHOLD"]["uuids"]) == 5


@pytest.mark.parametrize("query", ["column=NOPE&after=n.1", "column=OPEN&after=x", "column=OPEN"])
def test_a_further_page_of_nothing_known_is_a_bad_request(agent_client, query):
    assert agent_client.get(f"/board/more/?{query}").status_code == 400


# --- the cards -----------------------------------------------------------------------------------


def test_a_card_shows_name_tags_person_waiting_and_badges(agent_client, user, lead_admin):
    link(lead_admin, AGENT)
    named = make_lead(
        1,
        tags=["vip", "hot"],
        agent_id=AGENT,
        waiting_since=timezone.now() - timedelta(hours=3, minutes=5),
        change_state="pending",
    )
    nameless = make_lead(
        2, name="", email="", uuid="abc-123-f00d42", agent_id=OTHER_AGENT, change_state="failed"
    )
    html = agent_client.get("/board/").content.decode()
    assert f'href="/leads/{named.uuid}/">Person 1</a>' in html
    assert '<span class="board-tag">vip</span><span class="board-tag">hot</span>' in html
    assert f'title="{AGENT}">Lena</span>' in html  # the person's name, the id in the tooltip
    assert "since <time datetime=" in html and ">3 h ago</time>" in html
    assert ">Pending</span>" in html and ">Failed</span>" in html
    assert ">Visitor · f00d42</a>" in html
    assert f'title="{OTHER_AGENT}">64a1a9…0077</span>' in html
    assert nameless.uuid in html


# --- moving a card -------------------------------------------------------------------------------


def move(client, lead, status, *, version=None, query="", htmx=True, bot=None):
    return client.post(
        f"/board/{lead.uuid}/move/?bot={bot or lead.bot_id}",
        {"status": status, "version": lead.version if version is None else version, "query": query},
        headers={"HX-Request": "true"} if htmx else {},
    )


@pytest.mark.django_db(transaction=True)
def test_a_move_is_one_status_put_with_its_history(agent_client, user, botpenguin):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    response = move(agent_client, lead, "REVIEW", query="tag=hot")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-uuid="{lead.uuid}"' in html and 'data-status="REVIEW"' in html
    assert 'data-outcome="moved"' in html and "Person 1 moved to Review." in html
    assert response["HX-Trigger"] == "changes-updated"
    # Undo is offered: the toast after the htmx move offers it.
    toast = agent_client.get("/undo/toast/", headers={"HX-Request": "true"}).content.decode()
    assert 'id="undo-button"' in toast and "Person 1" in toast
    (put,) = botpenguin.sandbox.puts()
    assert put.body == {
        "uuid": lead.uuid,
        "botId": BOT_ID,
        "customerId": CUSTOMER_ID,
        "status": "REVIEW",
    }
    lead.refresh_from_db()
    assert lead.status == "REVIEW" and lead.change_state == ""
    (history,) = StatusChange.objects.filter(lead=lead, source="botpanel")
    assert (history.from_status, history.to_status, history.user) == ("OPEN", "REVIEW", user)
    # The list shows it in its new status, the board in its new column.
    assert lead.uuid in agent_client.get("/leads/?status=REVIEW").content.decode()
    assert board_of(agent_client).columns["REVIEW"]["uuids"] == [lead.uuid]


@pytest.mark.django_db(transaction=True)
def test_a_move_without_javascript_posts_and_comes_back_to_the_same_board(agent_client, botpenguin):
    lead = make_lead(1, sandbox=botpenguin.sandbox, tags=["hot"])
    response = move(agent_client, lead, "CLOSED", query="tag=hot&closed=all", htmx=False)
    assert response.status_code == 302
    assert response["Location"] == "/board/?tag=hot&closed=all"
    page = agent_client.get(response["Location"]).content.decode()
    assert "Person 1 moved to Closed." in page
    assert 'id="undo-button"' in page  # the undo offer waits for the page after the redirect
    assert BoardPage(page).columns["CLOSED"]["uuids"] == [lead.uuid]
    (put,) = botpenguin.sandbox.puts()
    assert put.body["status"] == "CLOSED"
    # A reload re-posts nothing.
    agent_client.get(response["Location"])
    assert len(botpenguin.sandbox.puts()) == 1


@pytest.mark.django_db(transaction=True)
def test_a_stale_card_conflicts_says_who_changed_it_and_stays(agent_client, lead_admin, botpenguin):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    drawn = lead.version
    services.lead_set_status(lead=lead, status="INPROGRESS", user=lead_admin)
    response = move(agent_client, lead, "CLOSED", version=drawn)
    assert response.status_code == 409
    html = response.content.decode()
    assert 'data-outcome="conflict"' in html and 'data-status="INPROGRESS"' in html
    assert "Person 1 changed meanwhile: Lena moved it to In progress." in html
    assert "It stays in In progress" in html
    lead.refresh_from_db()
    assert lead.status == "INPROGRESS"
    assert [p.body["status"] for p in botpenguin.sandbox.puts()] == ["INPROGRESS"]
    # Without JavaScript: the same sentence on the board, nothing changed.
    plain = move(agent_client, lead, "CLOSED", version=drawn, htmx=False)
    assert "Lena moved it to In progress" in agent_client.get(plain["Location"]).content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_conflict_from_a_sync_names_botpenguin(agent_client, botpenguin):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    Lead.objects.filter(pk=lead.pk).update(status="ONHOLD", version=lead.version + 1)
    html = move(agent_client, lead, "CLOSED").content.decode()
    assert "BotPenguin shows it as On hold now" in html
    assert botpenguin.sandbox.puts() == []


@pytest.mark.django_db(transaction=True)
def test_a_move_while_botpenguin_is_down_shows_pending(agent_client, botpenguin):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    botpenguin.sandbox.fail_puts = True
    response = move(agent_client, lead, "REVIEW")
    html = response.content.decode()
    assert response.status_code == 200 and 'data-outcome="pending"' in html
    assert ">Pending</span>" in html and services.SAVED_PENDING in html
    lead.refresh_from_db()
    assert (lead.status, lead.change_state) == ("REVIEW", "pending")


@pytest.mark.django_db(transaction=True)
def test_a_refused_move_puts_the_card_back_and_says_why(agent_client, botpenguin):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    botpenguin.sandbox.fail_next(1, status=400)
    response = move(agent_client, lead, "REVIEW")
    html = response.content.decode()
    assert response.status_code == 422 and 'data-outcome="refused"' in html
    assert (
        'data-status="OPEN"' in html
        and "Person 1 stays in Open: BotPenguin refused the request (HTTP 400): sandbox: injected HTTP 400"
        in html
    )
    lead.refresh_from_db()
    assert lead.status == "OPEN"


def test_a_move_to_the_same_status_or_none_changes_nothing(agent_client):
    lead = make_lead(1)
    same = move(agent_client, lead, "OPEN")
    assert same.status_code == 200 and "already in Open" in same.content.decode()
    assert move(agent_client, lead, "LATER").status_code == 400
    assert LeadChange.objects.count() == 0


# --- who may ------------------------------------------------------------------------------------


def test_a_lead_of_another_bot_is_a_404_and_never_on_the_board(agent_client, user):
    env_bot()
    other = Bot.objects.create(
        name="Other", api_url="http://127.0.0.1:9", remote_bot_id="o", customer_id="c"
    )
    theirs = make_lead(1, bot=other)
    assert move(agent_client, theirs, "CLOSED").status_code == 404
    assert move(agent_client, theirs, "CLOSED", htmx=False).status_code == 404
    assert theirs.uuid not in agent_client.get("/board/").content.decode()
    theirs.refresh_from_db()
    assert theirs.status == "OPEN"


def test_without_a_role_there_is_no_board_and_no_move(client, nobody):
    lead = make_lead(1)
    client.force_login(nobody)
    assert client.get("/board/").status_code == 403
    assert move(client, lead, "CLOSED").status_code == 403


def test_a_person_who_may_only_look_sees_no_move_controls(client, django_user_model):
    from django.contrib.auth.models import Permission

    make_lead(1)
    viewer = django_user_model.objects.create_user(username="viewer", password="viewer-pass-1")
    viewer.user_permissions.add(Permission.objects.get(codename="view_lead"))
    client.force_login(viewer)
    html = client.get("/board/").content.decode()
    assert "Person 1" in html and "Move to…" not in html and "data-move" not in html
    assert move(client, Lead.objects.get(), "CLOSED").status_code == 403


# --- speed --------------------------------------------------------------------------------------


def queries_of(client, url: str) -> int:
    from django.core.cache import cache

    cache.clear()  # a cold page: counts, names and rules read too
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_board_reads_a_constant_number_of_queries(agent_client, django_assert_max_num_queries):
    make_lead(0)
    few = queries_of(agent_client, "/board/?tag=x&q=Person")
    Lead.objects.bulk_create(
        Lead(
            bot=env_bot(),
            uuid=f"bulk-{n}",
            name=f"Bulk {n}",
            status=STATUSES[n % 6],
            tags=["x"],
            waiting_since=timezone.now() - timedelta(minutes=n),
        )
        for n in range(400)
    )
    assert queries_of(agent_client, "/board/?tag=x&q=Person") == few
    assert queries_of(agent_client, "/board/") == queries_of(agent_client, "/board/?bot=all")
    with django_assert_max_num_queries(14):
        agent_client.get("/board/")
    more = BoardPage(agent_client.get("/board/").content.decode()).columns["OPEN"]["more"]
    with django_assert_max_num_queries(8):
        agent_client.get(more, headers={"HX-Request": "true"})
