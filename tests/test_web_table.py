"""The lead list's table as a person sees it: the header and its sort links, each cell of a row,
the pagination, hostile values shown as text, and the row an inline edit sends back."""

import re
from datetime import UTC, datetime

import pytest
from django.utils.html import escape
from pytest_django.asserts import assertHTMLEqual, assertInHTML

from tests.factories import BASE, make_lead

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def rows_of(html: str) -> list[str]:
    return re.findall(r"<tr data-uuid=.*?</tr>", html, re.S)


def header_of(html: str) -> str:
    return html.split("<thead>")[1].split("</thead>")[0]


def test_a_row_shows_every_cell(agent_client):
    make_lead(
        3,
        name="Meera Iyer",
        email="meera@example.org",
        tags=["hot", "vip"],
        agent_id="agent-7",
        status="REVIEW",
        change_state="pending",
        picture="https://cdn.example.org/m.png",
        last_message_at=datetime(2026, 10, 5, 14, 3, tzinfo=UTC),
        last_message_by="bot",
        last_message_text="Thanks!",
        remote_updated_at=datetime(2026, 10, 6, 9, 30, tzinfo=UTC),
        version=4,
    )
    (row,) = rows_of(agent_client.get("/leads/?status=REVIEW").content.decode())
    uuid = "00000000-0000-4000-8000-000000000003"
    status_options = "".join(
        f'<option value="{value}"{" selected" if value == "REVIEW" else ""}>{label}</option>'
        for value, label in [
            ("OPEN", "Open"),
            ("INPROGRESS", "In progress"),
            ("REVIEW", "Review"),
            ("ONHOLD", "On hold"),
            ("DEPENDANCY", "Dependency"),
            ("CLOSED", "Closed"),
        ]
    )
    expected = f"""
    <tr data-uuid="{uuid}" tabindex="-1">
      <td class="text-center"><input class="form-check-input" type="checkbox" name="selected"
        value="{uuid}" form="bulk-form" aria-label="Select"></td>
      <td><div class="d-flex align-items-center gap-2">
        <img class="avatar" src="https://cdn.example.org/m.png" alt="" loading="lazy"
          referrerpolicy="no-referrer" data-initials="MI">
        <a class="lead-link" href="/leads/{uuid}/?status=REVIEW">Meera Iyer</a></div></td>
      <td class="cell-clip d-none d-lg-table-cell">
        <span title="meera@example.org">meera@example.org</span></td>
      <td class="d-none d-lg-table-cell text-nowrap">+91 9876500003</td>
      <td><div class="d-flex flex-column gap-1">
        <div><span class="badge text-bg-warning status-badge">Review</span>
          <span class="badge text-bg-warning change-badge"
            title="Saved in BotPanel, waiting to be sent to BotPenguin">Pending</span></div>
        <select name="status" class="form-select form-select-sm js-row-status" aria-label="Status"
          hx-post="/leads/{uuid}/row-status/" hx-trigger="change" hx-target="closest tr"
          hx-swap="outerHTML" hx-include="#lead-table-query" hx-vals='{{"version": 4}}'>
          {status_options}</select></div></td>
      <td class="d-none d-md-table-cell">
        <span class="badge rounded-pill text-bg-light border tag-chip">hot</span>
        <span class="badge rounded-pill text-bg-light border tag-chip">vip</span></td>
      <td class="d-none d-xl-table-cell small cell-clip"><span title="agent-7">agent-7</span></td>
      <td class="d-none d-md-table-cell last-message small">
        <div class="text-muted">05 Oct 2026 14:03 · bot</div>
        <div class="text-truncate">Thanks!</div></td>
      <td class="small text-nowrap">06 Oct 2026 09:30</td>
    </tr>"""
    assertHTMLEqual(row, expected)


def test_a_row_without_status_picture_or_message(agent_client):
    make_lead(1, name="", email="", status="", picture="javascript:alert(1)", missing_since=BASE)
    make_lead(2, name="Zoë " + "ä" * 70, status="WEIRD", last_message_text="é" * 100)
    html = agent_client.get("/leads/").content.decode()
    odd, blank = rows_of(html)
    uuid = "00000000-0000-4000-8000-000000000001"
    # no name or email: the uuid is the link; the initials stand in for the picture
    assertInHTML(
        f'<div class="d-flex align-items-center gap-2"><span class="avatar avatar-initials">?'
        f'</span><a class="lead-link" href="/leads/{uuid}/">{uuid}</a> '
        '<span class="badge text-bg-secondary">missing</span></div>',
        blank,
    )
    assertInHTML('<span class="badge text-bg-light border">No status</span>', blank)
    assertInHTML('<option value="" selected>—</option>', blank)
    assertInHTML('<td class="d-none d-md-table-cell last-message small">—</td>', blank)
    # a status BotPanel does not know: a dash, and a choice to make
    assertInHTML('<span class="badge text-bg-light status-badge">—</span>', odd)
    assertInHTML('<option value="" selected>—</option>', odd)
    # long texts are clipped with an ellipsis (60 characters for the name, 80 for the message)
    assertInHTML(f'<a class="lead-link" href="/leads/{uuid[:-1]}2/">Zoë {"ä" * 55}…</a>', odd)
    assertInHTML(f'<div class="text-truncate">{"é" * 79}…</div>', odd)


def test_hostile_values_in_every_cell_are_text(agent_client):
    make_lead(
        1,
        name=XSS,
        email=XSS,
        tags=[XSS, "ok"],
        agent_id=XSS,
        last_message_by=XSS,
        last_message_text=XSS,
        picture='https://cdn.example.org/a.png" onerror="alert(1)',
        dial_code="<i>+1</i>",  # at most 16 characters
        phone=XSS,
    )
    make_lead(2, name="Ok", picture="data:image/svg+xml,<svg onload=alert(1)>")
    html = agent_client.get("/leads/").content.decode()
    assert "<script>" not in html and "<img src=x" not in html
    assert 'src="javascript:' not in html and 'src="data:' not in html
    (row,) = [row for row in rows_of(html) if "000000000001" in row]
    # the name, the email twice, a tag, the agent twice, the author, the message, the phone
    assert row.count("&lt;script&gt;alert(") == 9, row
    assert "&lt;i&gt;+1&lt;/i&gt; &lt;script&gt;" in row  # the dial code before the number
    text = escape(XSS)
    assertInHTML(f'<span title="{text}">{text}</span>', row, count=2)  # email, agent
    assertInHTML(
        f'<span class="badge rounded-pill text-bg-light border tag-chip">{text}</span>', row
    )


def test_the_header_links_sort_and_go_back_to_the_first_page(agent_client):
    for n in range(3):
        make_lead(n)
    html = agent_client.get("/leads/?status=OPEN&page=2&sort=-name").content.decode()
    head = header_of(html)
    assertInHTML(
        '<th class="desc orderable" scope="col"><a href="?status=OPEN&amp;sort=name">Name</a></th>',
        head,
    )
    assertInHTML(
        '<th class="d-lg-table-cell d-none orderable" scope="col">'
        '<a href="?status=OPEN&amp;sort=phone">Phone</a></th>',
        head,
    )
    assertInHTML('<th scope="col"></th>', head)  # the selection column
    assertInHTML('<th class="d-md-table-cell d-none" scope="col">Tags</th>', head)  # no sorting
    columns = re.findall(r"<th[^>]*>(?:<a[^>]*>)?([^<]*)", head)
    assert columns == [
        "",
        "Name",
        "Email",
        "Phone",
        "Status",
        "Tags",
        "Agent",
        "Last message",
        "Updated",
    ]


@pytest.mark.parametrize(
    ("sort", "column", "classes", "link"),
    [
        ("", "Updated", "desc orderable", "remote_updated_at"),  # the list's own order
        ("", "Name", "orderable", "name"),
        ("name", "Name", "asc orderable", "-name"),
        ("-remote_updated_at", "Updated", "desc orderable", "remote_updated_at"),
        ("agent_id", "Agent", "asc d-none d-xl-table-cell orderable", "-agent_id"),
    ],
)
def test_each_sort_shows_in_its_column_alone(agent_client, sort, column, classes, link):
    make_lead(1)
    html = agent_client.get(f"/leads/?sort={sort}" if sort else "/leads/").content.decode()
    head = header_of(html)
    assertInHTML(
        f'<th class="{classes}" scope="col"><a href="?sort={link}">{column}</a></th>', head
    )
    sorted_columns = re.findall(r'<th class="[^"]*\b(?:asc|desc)\b', head)
    assert len(sorted_columns) == 1


def test_one_tables_sort_does_not_show_in_the_next(agent_client):
    make_lead(1)
    agent_client.get("/leads/?sort=name")
    head = header_of(agent_client.get("/leads/").content.decode())
    assertInHTML('<th class="orderable" scope="col"><a href="?sort=name">Name</a></th>', head)


def test_the_pagination_keeps_the_query(agent_client):
    for n in range(80):
        make_lead(n)
    html = agent_client.get("/leads/?per_page=25&page=2&status=OPEN").content.decode()
    nav = html.split('<nav aria-label="Table navigation">')[1].split("</nav>")[0]
    assertInHTML(
        '<li class="previous page-item"><a href="?per_page=25&amp;status=OPEN&amp;page=1" '
        'class="page-link"><span aria-hidden="true">«</span> previous</a></li>',
        nav,
    )
    assertInHTML(
        '<li class="page-item active"><a class="page-link" '
        'href="?per_page=25&amp;status=OPEN&amp;page=2">2</a></li>',
        nav,
    )
    assertInHTML(
        '<li class="next page-item"><a href="?per_page=25&amp;status=OPEN&amp;page=3" '
        'class="page-link">next <span aria-hidden="true">»</span></a></li>',
        nav,
    )
    assert re.findall(r">(\d+)</a>", nav) == ["1", "2", "3", "4"]


def test_no_pagination_for_one_page_and_a_message_for_none(agent_client):
    make_lead(1)
    html = agent_client.get("/leads/").content.decode()
    assert "pagination" not in html
    html = agent_client.get("/leads/?tag=nothing").content.decode()
    assertInHTML('<tr><td colspan="9">No leads match these filters.</td></tr>', html)


def test_the_list_shows_times_in_the_sites_time_zone(agent_client, settings):
    settings.TIME_ZONE = "Asia/Kolkata"
    moment = datetime(2026, 10, 5, 23, 50, tzinfo=UTC)
    make_lead(1, remote_updated_at=moment, last_message_at=moment, last_message_text="hi")
    (row,) = rows_of(agent_client.get("/leads/").content.decode())
    assert row.count("06 Oct 2026 05:20") == 2, row  # UTC+5:30, the next day


def test_moments_are_shown_in_the_time_zone_asked_for():
    from zoneinfo import ZoneInfo

    from leads.web.display import when

    kolkata = ZoneInfo("Asia/Kolkata")
    assert when(datetime(2026, 10, 5, 23, 50, tzinfo=UTC), kolkata) == "06 Oct 2026 05:20"
    assert when(datetime(2026, 10, 5, 23, 50, tzinfo=kolkata), ZoneInfo("UTC")) == (
        "05 Oct 2026 18:20"
    )
    assert when(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "02 Jan 2026 03:04"  # settings: UTC
    assert when(None) == ""


@pytest.mark.django_db(transaction=True)
def test_a_list_row_is_the_row_an_inline_edit_renders(agent_client, botpenguin, settings):
    """The list renders its rows from the values it reads, the inline edit from the lead: the
    same row."""
    settings.TIME_ZONE = "Asia/Kolkata"
    lead = make_lead(
        7,
        name="Zoë <b>",
        email="z@example.org",
        tags=["vip", "<i>"],
        agent_id="agent-1",
        picture="https://cdn.example.org/p.png",
        last_message_at=BASE,
        last_message_text="x" * 100,
        missing_since=BASE,
        change_state="failed",
        sandbox=botpenguin.sandbox,
    )
    (listed,) = rows_of(agent_client.get("/leads/?tag=vip").content.decode())
    response = agent_client.post(
        f"/leads/{lead.uuid}/row-status/",
        {"status": "OPEN", "version": lead.version, "query": "tag=vip"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert botpenguin.sandbox.puts() == []  # already Open: nothing to send
    assertHTMLEqual(response.content.decode(), listed)
    assert "Zoë &lt;b&gt;" in listed and "&lt;i&gt;" in listed and "x" * 79 + "…" in listed


def test_a_row_changed_since_it_was_last_shown_is_shown_as_it_is_now(agent_client, settings):
    """Rows are rendered once for the same values (tables.RENDERED_ROWS): a changed value, or
    another time zone, shows at once."""
    from leads.models import Lead

    moment = datetime(2026, 10, 5, 23, 50, tzinfo=UTC)
    lead = make_lead(1, name="Before", status="OPEN", remote_updated_at=moment)
    (before,) = rows_of(agent_client.get("/leads/").content.decode())
    assert "Before" in before and '<option value="OPEN" selected>' in before
    Lead.objects.filter(pk=lead.pk).update(name="After", status="CLOSED")
    (after,) = rows_of(agent_client.get("/leads/").content.decode())
    assert "After" in after and "Before" not in after
    assert '<option value="CLOSED" selected>' in after and "05 Oct 2026 23:50" in after
    settings.TIME_ZONE = "Asia/Kolkata"
    (elsewhere,) = rows_of(agent_client.get("/leads/").content.decode())
    assert "06 Oct 2026 05:20" in elsewhere and "05 Oct 2026 23:50" not in elsewhere
    (filtered,) = rows_of(agent_client.get("/leads/?status=CLOSED").content.decode())
    assert "?status=CLOSED" in filtered  # its link keeps the list's filter


def test_rendered_rows_are_bounded_and_made_once():
    from leads.web.tables import RenderedCache

    rendered = RenderedCache(2)
    made = []

    def render(key):
        made.append(key)
        return f"<tr>{key}</tr>"

    for key in ("a", "b", "a", "c", "b"):
        assert rendered.get_or_render((key,), lambda key=key: render(key)) == f"<tr>{key}</tr>"
    # "a" was kept (used again before "c" came); "b" was dropped for "c", so made again.
    assert made == ["a", "b", "c", "b"]
    assert len(rendered.rendered) == 2
