"""The lead list: login, filters, sort, per-page, counts, export, query count, inline status."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from leads.models import Lead
from tests.factories import BASE, BOT_ID, CUSTOMER_ID, SANDBOX_TOKEN, make_lead

pytestmark = pytest.mark.django_db


def uuids_on_page(response) -> list[str]:
    return re.findall(r'<tr data-uuid="([^"]+)"', response.content.decode())


def n_of(uuid: str) -> int:
    return int(uuid.rsplit("-", 1)[1])


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/"),
        ("get", "/leads/"),
        ("get", "/leads/?_export=csv"),
        ("get", "/leads/00000000-0000-4000-8000-000000000001/"),
        ("post", "/leads/00000000-0000-4000-8000-000000000001/row-status/"),
        ("post", "/leads/bulk/"),
        ("post", "/leads/00000000-0000-4000-8000-000000000001/edit/status/"),
        ("post", "/leads/00000000-0000-4000-8000-000000000001/edit/note/"),
        ("post", "/leads/00000000-0000-4000-8000-000000000001/edit/tags/"),
        ("post", "/leads/00000000-0000-4000-8000-000000000001/edit/contact/"),
        ("post", "/sync/now/"),
        ("get", "/sync/status/"),
        ("get", "/accounts/password_change/"),
    ],
)
def test_every_page_needs_login(client, method, url):
    make_lead(1)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_default_list_is_leads_newest_first_with_the_columns(agent_client):
    for n in range(5):
        make_lead(n, tags=["hot", "vip"] if n == 3 else [], agent_id="agent-7" if n == 3 else "")
    make_lead(99, is_lead=False, name="Not a lead")
    response = agent_client.get("/leads/")
    assert response.status_code == 200
    assert [n_of(u) for u in uuids_on_page(response)] == [4, 3, 2, 1, 0]
    html = response.content.decode()
    assert "Not a lead" not in html
    assert "person3@example.org" in html and "+91 9876500003" in html
    assert 'class="badge text-bg-primary status-badge">Open<' in html
    assert ">hot<" in html and ">vip<" in html and "agent-7" in html
    assert "5 matching" in html


def test_non_lead_chats_are_listed_under_type_non_lead(agent_client):
    make_lead(1)
    make_lead(2, is_lead=False, name="Just browsing")
    response = agent_client.get("/leads/?type=non-lead")
    assert [n_of(u) for u in uuids_on_page(response)] == [2]
    assert "Other chats" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=REVIEW", [2]),
        ("status=REVIEW&status=CLOSED", [3, 2]),
        ("tag=HOT", [3, 1]),
        ("tag=nope", []),
        ("agent=a-1", [2]),
        ("agent=none", [3, 1, 0]),
        ("q=meera", [1]),
        ("q=EXAMPLE.ORG", [3, 2, 1, 0]),
        ("q=5550002", [2]),
        ("updated_after=2026-10-03", [3, 2]),
        ("updated_before=2026-10-02", [1, 0]),
        ("updated_after=2026-10-02&updated_before=2026-10-02", [1]),
        ("created_after=2026-09-25", [3]),
        ("created_before=2026-09-19", [0]),
        ("status=OPEN&tag=hot&q=meera", [1]),
    ],
)
def test_filters(agent_client, query, expected):
    make_lead(0, remote_updated_at=BASE, remote_created_at=BASE - timedelta(days=13))
    make_lead(
        1, name="Meera Iyer", tags=["hot"], remote_updated_at=BASE + timedelta(days=1),
        remote_created_at=BASE - timedelta(days=10),
    )  # fmt: skip
    make_lead(
        2, status="REVIEW", agent_id="a-1", phone="5550002", remote_updated_at=BASE + timedelta(days=2),
        remote_created_at=BASE - timedelta(days=9),
    )  # fmt: skip
    make_lead(
        3, status="CLOSED", tags=["Hot", "won"], remote_updated_at=BASE + timedelta(days=3),
        remote_created_at=BASE - timedelta(days=1),
    )  # fmt: skip
    response = agent_client.get(f"/leads/?{query}")
    assert response.status_code == 200
    assert [n_of(u) for u in uuids_on_page(response)] == expected


@pytest.mark.parametrize(
    "query", ["updated_after=yesterday", "status=WON", "created_before=2026-13-45"]
)
def test_invalid_filter_values_say_so_and_do_not_crash(agent_client, query):
    make_lead(1)
    response = agent_client.get(f"/leads/?{query}")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="filter-errors"' in html
    assert uuids_on_page(response) == []


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", [0, 2, 1]),
        ("-name", [1, 2, 0]),
        ("status", [1, 0, 2]),
        ("remote_updated_at", [0, 1, 2]),
        ("-remote_updated_at", [2, 1, 0]),
        ("phone", [2, 0, 1]),
    ],
)
def test_sorting(agent_client, sort, expected):
    make_lead(0, name="Anil", status="OPEN", phone="2")
    make_lead(1, name="Zara", status="CLOSED", phone="3")
    make_lead(2, name="Meera", status="REVIEW", phone="1")
    response = agent_client.get(f"/leads/?sort={sort}")
    assert [n_of(u) for u in uuids_on_page(response)] == expected


@pytest.mark.parametrize(
    ("per_page", "rows"), [("25", 25), ("50", 50), ("100", 60), ("7", 25), ("x", 25)]
)
def test_per_page(agent_client, per_page, rows):
    for n in range(60):
        make_lead(n)
    response = agent_client.get(f"/leads/?per_page={per_page}")
    assert len(uuids_on_page(response)) == rows


def test_pagination_keeps_filters(agent_client):
    for n in range(30):
        make_lead(n, status="REVIEW" if n % 2 else "OPEN")
    response = agent_client.get("/leads/?status=OPEN&page=2&per_page=25")
    # 15 OPEN leads fit on one page: page 2 falls back to the last page
    assert len(uuids_on_page(response)) == 15
    for n in range(30, 60):
        make_lead(n, status="OPEN")
    page2 = agent_client.get("/leads/?status=OPEN&page=2&per_page=25")
    # 45 OPEN leads, newest first: page 2 holds the 26th to the 45th.
    assert [n_of(u) for u in uuids_on_page(page2)] == [34, 33, 32, 31, 30, *range(28, -1, -2)]
    assert "status=OPEN" in page2.content.decode().split('class="pagination')[1]


def test_sort_links_keep_the_filters_and_go_back_to_page_one(agent_client):
    for n in range(30):
        make_lead(n, status="OPEN", name=f"Lead {n:02d}")
    html = agent_client.get("/leads/?status=OPEN&page=2&per_page=25&sort=name").content.decode()
    head = html.split("<thead>")[1].split("</thead>")[0]
    name_link = re.search(r'<th class="asc orderable"[^>]*><a href="([^"]+)">Name</a>', head)
    assert name_link, head
    assert name_link.group(1) == "?status=OPEN&amp;per_page=25&amp;sort=-name"
    pages = html.split('class="pagination')[1]
    assert 'href="?status=OPEN&amp;per_page=25&amp;sort=name&amp;page=1"' in pages


def test_a_list_row_is_the_row_an_inline_edit_renders(agent_client, botpenguin):
    """The list renders rows from the database's tuples, the inline edit from the model: same
    HTML."""
    lead = make_lead(
        7, name="Zoë <b>", email="z@example.org", tags=["vip", "<i>"], agent_id="agent-1",
        picture="https://cdn.example.org/p.png", last_message_text="x" * 100,
        sandbox=botpenguin.sandbox,
    )  # fmt: skip
    listed = agent_client.get("/leads/").content.decode()
    row = re.search(r'<tr data-uuid="[^"]+".*?</tr>', listed, re.S).group(0)
    from leads.web.tables import LeadTable

    assert LeadTable([lead]).row_html(lead) == row
    assert "Zoë &lt;b&gt;" in row and "&lt;i&gt;" in row and "x" * 79 + "&hellip;" in row


def test_counts_are_shared_by_the_same_filters_in_any_order(agent_client):
    from django.core.cache import cache

    for n in range(5):
        make_lead(n, status="OPEN", tags=["hot"])
    cache.clear()
    agent_client.get("/leads/?tag=hot&status=OPEN&per_page=25")
    with CaptureQueriesContext(connection) as ctx:
        response = agent_client.get("/leads/?per_page=50&status=OPEN&tag=hot&sort=name")
    # the session with its user, the rows: both counts and the frame's last sync come from the
    # first request's cache entries
    assert len(ctx.captured_queries) == 2, [q["sql"] for q in ctx.captured_queries]
    assert "5 matching" in response.content.decode()


def test_status_tabs_count_under_the_other_filters(agent_client):
    make_lead(0, status="OPEN", tags=["hot"])
    make_lead(1, status="OPEN", tags=["hot"])
    make_lead(2, status="REVIEW", tags=["hot"])
    make_lead(3, status="CLOSED")
    response = agent_client.get("/leads/?tag=hot&status=OPEN")
    counts = response.context["status_counts"]
    assert (counts["all"], counts["OPEN"], counts["REVIEW"], counts["CLOSED"]) == (3, 2, 1, 0)
    assert len(uuids_on_page(response)) == 2


def test_a_fixed_number_of_queries_whatever_the_page_size(agent_client):
    from django.core.cache import cache

    for n in range(120):
        make_lead(n, tags=["a", "b"], notes=[{"id": "", "title": "t", "description": "d"}])
    uncached, cached = [], []
    for per_page in (25, 100):
        cache.clear()
        for bucket in (uncached, cached):
            with CaptureQueriesContext(connection) as ctx:
                response = agent_client.get(f"/leads/?per_page={per_page}&tag=a&status=OPEN")
            assert len(uuids_on_page(response)) == per_page
            bucket.append(len(ctx.captured_queries))
    # the session with its user, the rows + (until cached) the frame's last sync, the matching
    # count and the status counts
    assert uncached == [5, 5], [q["sql"] for q in ctx.captured_queries]
    assert cached == [2, 2]


def test_hostile_values_are_escaped_and_bad_pictures_never_reach_src(agent_client):
    make_lead(1, name="<script>alert(1)</script>", picture="javascript:alert(1)", tags=["<b>x</b>"])
    make_lead(2, name="Ok", picture="data:image/svg+xml,<svg onload=alert(1)>")
    html = agent_client.get("/leads/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>x</b>" not in html
    assert 'src="javascript:' not in html and 'src="data:' not in html
    assert "javascript:alert" not in html


# --- export -------------------------------------------------------------------------------------


def _export_leads():
    make_lead(
        1,
        name="Meera Iyer",
        status="DEPENDANCY",
        tags=["hot", "=cmd()"],
        notes=[
            {"id": "n1", "title": "Pricing", "description": "Annual"},
            {"id": "n2", "title": "Call", "description": "After 5"},
        ],
        attributes=[{"key": "plan", "value": "annual"}, {"key": "src", "value": "web"}],
        city="Chennai",
        agent_id="a-9",
    )
    make_lead(2, name='=HYPERLINK("http://evil.example")', email="@sum(1)")
    make_lead(3, name="Closed one", status="CLOSED")


def test_csv_export_has_every_field_for_the_filtered_rows(agent_client, settings):
    _export_leads()
    response = agent_client.get("/leads/?status=DEPENDANCY&status=OPEN&_export=csv")
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('botpanel-leads.csv"')
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 2
    meera = next(r for r in rows if r["Name"] == "Meera Iyer")
    assert meera["Status"] == "Dependency"
    assert meera["Tags"] == "hot, =cmd()"
    assert meera["Notes"] == "Pricing: Annual | Call: After 5"
    assert meera["Attributes"] == "plan=annual; src=web"
    assert meera["Dial code"] == "'+91"
    assert meera["Phone"] == "9876500001" and meera["City"] == "Chennai"
    assert meera["Agent"] == "a-9" and meera["Uuid"] == "00000000-0000-4000-8000-000000000001"
    for column in ("Created", "Updated", "Last message at", "Synced", "Missing since", "Online",
                   "Website visits", "Last seen", "Country", "Gender", "Picture", "Lead",
                   "BotPenguin id", "Email", "Last message", "Last message by"):  # fmt: skip
        assert column in meera
    evil = next(r for r in rows if "HYPERLINK" in r["Name"])
    assert evil["Name"].startswith("'=") and evil["Email"] == "'@sum(1)"
    assert SANDBOX_TOKEN not in response.content.decode()


def test_xlsx_export(agent_client):
    _export_leads()
    response = agent_client.get("/leads/?q=Meera&_export=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header, data = rows[0], rows[1:]
    assert len(data) == 1
    record = dict(zip(header, data[0], strict=True))
    assert record["Name"] == "Meera Iyer" and record["Tags"] == "hot, =cmd()"
    assert record["Notes"] == "Pricing: Annual | Call: After 5"


def test_export_of_other_chats(agent_client):
    make_lead(1)
    make_lead(2, is_lead=False, name="Browsing")
    response = agent_client.get("/leads/?type=non-lead&_export=csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["Name"] for r in rows] == ["Browsing"]
    assert rows[0]["Lead"] == "no"


# --- inline status --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_inline_status_change_sends_the_put_and_rerenders_the_row(agent_client, botpenguin):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    response = agent_client.post(
        f"/leads/{lead.uuid}/row-status/",
        {"status": "REVIEW", "query": "status=OPEN&page=2"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith(f'<tr data-uuid="{lead.uuid}"')
    assert 'status-badge">Review<' in html
    assert f'href="/leads/{lead.uuid}/?status=OPEN"' in html
    assert response["HX-Trigger"] == "changes-updated"  # the nav badges refresh at once
    (put,) = botpenguin.sandbox.puts()
    assert put.body == {
        "uuid": lead.uuid,
        "botId": BOT_ID,
        "customerId": CUSTOMER_ID,
        "status": "REVIEW",
    }
    assert put.headers["x-bp-token"] == SANDBOX_TOKEN and "x-bot-token" not in put.headers
    assert put.status == 200
    lead.refresh_from_db()
    assert lead.status == "REVIEW"
    assert botpenguin.sandbox.get_chat(lead.uuid)["status"] == "REVIEW"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("400", "sandbox: injected HTTP 400"),
        ("401", "BotPenguin rejected the API token."),
    ],
)
def test_inline_status_refused_keeps_the_row_and_shows_why(
    agent_client, botpenguin, fault, message
):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    if fault == "401":
        botpenguin.sandbox.token = "rotated"
    else:
        botpenguin.sandbox.fail_next(1, status=400)
    response = agent_client.post(
        f"/leads/{lead.uuid}/row-status/", {"status": "CLOSED"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert message in html and 'role="alert"' in html
    assert 'status-badge">Open<' in html
    lead.refresh_from_db()
    assert lead.status == "OPEN"
    assert SANDBOX_TOKEN not in html


@pytest.mark.django_db(transaction=True)
def test_inline_status_while_botpenguin_is_down_is_kept_pending(agent_client, botpenguin):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    botpenguin.sandbox.fail_puts = True
    response = agent_client.post(
        f"/leads/{lead.uuid}/row-status/", {"status": "CLOSED"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "Saved — will be sent to BotPenguin when it is reachable." in html
    assert 'status-badge">Closed<' in html and ">Pending<" in html
    lead.refresh_from_db()
    assert (lead.status, lead.change_state, lead.pending_fields) == (
        "CLOSED",
        "pending",
        ["status"],
    )


@pytest.mark.django_db(transaction=True)
def test_inline_status_conflict_shows_the_current_value(agent_client, botpenguin):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    seen_version = lead.version
    Lead.objects.filter(pk=lead.pk).update(status="REVIEW", version=seen_version + 1)  # a sync
    response = agent_client.post(
        f"/leads/{lead.uuid}/row-status/",
        {"status": "CLOSED", "version": str(seen_version)},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "Changed meanwhile to Review (you chose Closed)" in html
    assert 'status-badge">Review<' in html
    assert botpenguin.sandbox.puts() == []
    assert f'"version": {seen_version + 1}' in html


@pytest.mark.django_db(transaction=True)
def test_inline_status_must_be_one_of_the_six(agent_client, botpenguin):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    response = agent_client.post(
        f"/leads/{lead.uuid}/row-status/", {"status": "WON"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400
    assert "Choose one of the six statuses." in response.content.decode()
    assert botpenguin.sandbox.puts() == []


@pytest.mark.django_db(transaction=True)
def test_inline_status_without_htmx_redirects_with_a_message(agent_client, botpenguin):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    response = agent_client.post(
        f"/leads/{lead.uuid}/row-status/", {"status": "ONHOLD"}, follow=True
    )
    assert "status set to On hold" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).status == "ONHOLD"


def test_the_list_page_has_the_keyboard_and_bulk_controls(agent_client):
    make_lead(1)
    html = agent_client.get("/leads/").content.decode()
    assert 'src="/static/js/list.js"' in html
    assert 'id="bulk-form"' in html and 'name="all_matching"' in html
    assert 'id="shortcuts"' in html
    # No inline scripts: every <script> has a src.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


@pytest.mark.django_db(transaction=True)
def test_cached_counts_follow_every_edit(agent_client, botpenguin, user):
    from leads import services

    leads = [make_lead(n, sandbox=botpenguin.sandbox) for n in range(3)]
    first = agent_client.get("/leads/?status=OPEN")
    assert first.context["status_counts"]["OPEN"] == 3 and "3 matching" in first.content.decode()
    services.lead_set_status(lead=leads[0], status="CLOSED", user=user)
    again = agent_client.get("/leads/?status=OPEN")
    assert again.context["status_counts"]["OPEN"] == 2
    assert again.context["status_counts"]["CLOSED"] == 1
    assert "2 matching" in again.content.decode()


@pytest.mark.parametrize(
    "q", ['"', 'a"b OR c*', "NEAR(x y)", "ab", "%_", "é", "'; DROP TABLE x; --"]
)
def test_search_takes_any_text(agent_client, q):
    make_lead(1, name='Ana "ab" %_ é')
    response = agent_client.get("/leads/", {"q": q})
    assert response.status_code == 200


def test_search_index_follows_edits_and_deletes(agent_client):
    lead = make_lead(1, name="Meera Iyer")
    assert len(uuids_on_page(agent_client.get("/leads/?q=iyer"))) == 1
    Lead.objects.filter(pk=lead.pk).update(name="Meera Krishnan")
    from leads.selectors.counting import bump_mirror_version

    bump_mirror_version()
    assert uuids_on_page(agent_client.get("/leads/?q=iyer")) == []
    assert len(uuids_on_page(agent_client.get("/leads/?q=KRISHNAN"))) == 1
    Lead.objects.filter(pk=lead.pk).delete()
    bump_mirror_version()
    assert uuids_on_page(agent_client.get("/leads/?q=krishnan")) == []


def test_a_search_known_to_match_many_rows_shows_the_same_page(agent_client):
    """Once the cached count says a search matches ten times a page or more, SQLite walks the
    ordered index instead of fetching every match: the rows shown must not change."""
    for n in range(400):  # 300 Meeras: 12 pages of 25
        make_lead(n, name=f"Meera {n}" if n % 4 else f"Arjun {n}", status="OPEN")
    url = "/leads/?q=meera&per_page=25"
    cold = agent_client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        warm = agent_client.get(url)
    assert uuids_on_page(warm) == uuids_on_page(cold)
    assert [n_of(u) for u in uuids_on_page(warm)][:3] == [399, 398, 397]
    rows_sql = [q["sql"] for q in ctx.captured_queries if "leads_lead_search" in q["sql"]]
    if connection.vendor == "sqlite":
        assert len(rows_sql) == 1 and '+"leads_lead"."id" IN' in rows_sql[0]
    page2 = agent_client.get("/leads/?q=meera&per_page=25&page=2&sort=name")
    assert len(uuids_on_page(page2)) == 25
    # a deep page (12 of 12) is not 10x inside the 300 matches: fetched by rowid as before
    assert len(uuids_on_page(agent_client.get("/leads/?q=meera&per_page=25&page=12"))) == 25


@pytest.mark.parametrize("query", ["", "&status=OPEN", "&sort=name", "&tag=hot&sort=-phone"])
def test_a_deep_page_fetched_through_its_ids_shows_the_same_rows(agent_client, monkeypatch, query):
    """Past DEEP_PAGE_OFFSET a page is fetched by its ids first (an index-only scan on
    PostgreSQL) instead of a plain OFFSET: same rows, same order."""
    from leads.selectors import counting

    for n in range(80):
        make_lead(n, name=f"P{(n * 37) % 80:02d}", status="OPEN" if n % 3 else "CLOSED",
                  tags=["hot"] if n % 2 else [], phone=f"{(n * 11) % 80:05d}")  # fmt: skip
    url = f"/leads/?per_page=25&page=2{query}"
    plain = uuids_on_page(agent_client.get(url))
    monkeypatch.setattr(counting, "DEEP_PAGE_OFFSET", 20)
    with CaptureQueriesContext(connection) as ctx:
        deep = uuids_on_page(agent_client.get(url))
    assert deep == plain and len(deep) > 0
    rows_sql = [q["sql"] for q in ctx.captured_queries if "OFFSET 25" in q["sql"]]
    assert len(rows_sql) == 1 and '."id" IN (SELECT' in rows_sql[0], rows_sql


def test_tag_rows_have_no_index_on_lead_alone():
    """The unique (lead_id, key) index serves lookups by lead (and answers a tag filter's probe
    by itself); a separate lead_id index only cost the sync a write per tag row (0008)."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "leads_leadtag")
    indexed = sorted(tuple(c["columns"]) for c in constraints.values() if c["index"] or c["unique"])
    assert ("lead_id",) not in indexed
    assert ("lead_id", "key") in indexed and ("key", "lead_id") in indexed


def test_filter_sets_share_their_form_class_but_not_their_state():
    """LeadFilter copies its filters shallowly and builds its form class once (leads.web.filters):
    two requests' filter sets must still filter, validate and keep what was typed apart."""
    from django.http import QueryDict

    from leads.selectors.lists import base_queryset
    from leads.web.filters import LeadFilter

    make_lead(1, name="Meera Iyer", tags=["vip"])
    make_lead(2, name="Arjun Rao", tags=["cold"])
    first = LeadFilter(QueryDict("tag=vip&updated_after=not-a-date"), queryset=base_queryset({}))
    second = LeadFilter(QueryDict("tag=cold&q=arjun"), queryset=base_queryset({}))
    assert type(first.form) is type(second.form)
    assert first.filters["tag"] is not second.filters["tag"]
    assert first.filters["tag"].parent is first and second.filters["tag"].parent is second
    # Method filters (tag, q) call their own filter set; errors and typed values stay apart.
    assert not first.is_valid() and "updated_after" in first.errors
    assert first.form["updated_after"].value() == "not-a-date"
    assert second.is_valid() and not second.errors
    assert [lead.name for lead in second.qs] == ["Arjun Rao"]
    assert LeadFilter.base_filters["tag"].__dict__.get("parent") is None


def test_lead_tables_share_columns_but_not_their_sorting():
    """LeadTable's columns are shared between tables (not deep-copied per table): one table's
    sort must not show in another's header."""
    from django.http import QueryDict

    from leads.web.tables import LeadTable

    make_lead(1)
    by_name = LeadTable(Lead.objects.all(), order_by="name")
    plain = LeadTable(Lead.objects.all())
    assert by_name.columns["name"].column is plain.columns["name"].column
    assert "asc" in by_name.columns["name"].attrs["th"]["class"]
    assert "asc" not in plain.columns["name"].attrs["th"].get("class", "")
    assert 'class="asc orderable"' in by_name.html(QueryDict("sort=name"))
    assert "asc orderable" not in plain.html(QueryDict(""))


def test_the_list_shows_times_in_the_sites_time_zone(agent_client, settings):
    """The rows come straight from the database (naive timestamps on SQLite, aware on
    PostgreSQL): both are shown in TIME_ZONE, as the inline edit's row shows them."""
    from datetime import UTC, datetime

    from leads.web.tables import LeadTable

    settings.TIME_ZONE = "Asia/Kolkata"
    moment = datetime(2026, 10, 5, 23, 50, tzinfo=UTC)
    lead = make_lead(1, remote_updated_at=moment, last_message_at=moment, last_message_text="hi")
    html = agent_client.get("/leads/").content.decode()
    row = re.search(r'<tr data-uuid="[^"]+".*?</tr>', html, re.S).group(0)
    assert row.count("06 Oct 2026 05:20") == 2, row  # UTC+5:30, the next day
    assert LeadTable([lead]).row_html(lead) == row


def test_table_times_are_converted_unless_already_in_the_zone_shown():
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from leads.web.tables import _when

    kolkata, utc_zone = ZoneInfo("Asia/Kolkata"), ZoneInfo("UTC")
    naive_utc = datetime(2026, 10, 5, 23, 50)  # as SQLite returns it
    assert _when(naive_utc, utc_zone, UTC) == "05 Oct 2026 23:50"
    assert _when(naive_utc, kolkata, UTC) == "06 Oct 2026 05:20"
    assert _when(datetime(2026, 10, 5, 23, 50, tzinfo=kolkata), utc_zone) == "05 Oct 2026 18:20"
    assert _when(datetime(2026, 10, 5, 23, 50, tzinfo=UTC), kolkata) == "06 Oct 2026 05:20"
    assert _when(datetime(2026, 1, 2, 3, 4, tzinfo=UTC), utc_zone) == "02 Jan 2026 03:04"
    assert _when(None) == ""


def test_a_list_page_of_latin_1_data_stays_latin_1():
    """Dashes and ellipses are written as entities (leads.web.tables.clip_html): one character
    beyond Latin-1 made Python widen the whole page at every join of the template."""
    for n in range(30):
        make_lead(n, name=f"Zoë {n}", last_message_text="ä" * 100, status="" if n % 2 else "OPEN")
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    client.force_login(User.objects.create_superuser("root", password="x"))
    html = client.get("/leads/?per_page=25").content.decode()
    assert max(map(ord, html)) <= 0xFF, [c for c in html if ord(c) > 0xFF][:5]
    assert "&hellip;" in html and "&mdash;" in html and "Zoë" in html


@pytest.mark.parametrize("sort", ["", "name", "-name", "status", "-remote_updated_at", "agent_id"])
def test_the_header_is_django_tables2s_for_every_sort(sort):
    """LeadTable.html() resolves the columns' headers once and only marks the sorted one per
    page: the header must stay what django-tables2's own BoundColumns make of it."""
    from urllib.parse import urlencode

    from django.http import QueryDict

    from leads.web.tables import LeadTable, esc

    make_lead(1)
    params = QueryDict(f"status=OPEN&page=2&sort={sort}" if sort else "status=OPEN&page=2")
    table = LeadTable(Lead.objects.all(), order_by=sort or None)
    expected = []
    for column in table.columns:  # the way django-tables2's template writes each <th>
        attrs = column.attrs["th"].as_html()
        text = esc(column.header)
        if column.orderable:
            query = [(k, v) for k, v in params.items() if k not in ("sort", "page")]
            query.append(("sort", column.order_by_alias.next))
            text = f'<a href="{esc("?" + urlencode(query))}">{text}</a>'
        expected.append(f'<th{" " + attrs if attrs else ""} scope="col">{text}</th>')
    head = table.html(params).split("<thead><tr>")[1].split("</tr></thead>")[0]
    assert head == "".join(expected)
