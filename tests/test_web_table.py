"""The lead list's table as a person sees it: the header and its sort links, each cell of a row,
the pagination, hostile values shown as text, and the row an inline edit sends back."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils.html import escape
from django.utils.timezone import now
from pytest_django.asserts import assertHTMLEqual, assertInHTML

from tests.factories import BASE, make_lead

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def rows_of(html: str) -> list[str]:
    return re.findall(r"<tr data-uuid=.*?</tr>", html, re.S)


def header_of(html: str) -> str:
    return html.split("<thead>")[1].split("</thead>")[0]


def test_a_row_shows_every_cell(agent_client, settings):
    settings.BOTPANEL_THIRD_PARTY_IMAGES = True
    updated = now() - timedelta(hours=3, minutes=5)
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
        remote_updated_at=updated,
        waiting_since=updated - timedelta(hours=2),  # under Review's overdue threshold
        version=4,
    )
    (row,) = rows_of(agent_client.get("/leads/?status=REVIEW").content.decode())
    uuid = "00000000-0000-4000-8000-000000000003"
    # the status as its badge, which list.js makes the row's select (posting with version 4)
    expected = f"""
    <tr data-uuid="{uuid}" data-v="4">
      <td><label><input type="checkbox" name="selected" value="{uuid}" form="bulk-form"
        aria-label="Select"></label></td>
      <th><div>
        <img class="avatar" src="https://cdn.example.org/m.png" alt="" loading="lazy"
          referrerpolicy="no-referrer" data-initials="MI">
        <a class="lead-link" href="/leads/{uuid}/?status=REVIEW">Meera Iyer</a></div></th>
      <td><span class="st st-REVIEW">Review</span><span class="badge text-bg-warning change-badge"
            title="Saved in BotPanel, waiting to be sent to BotPenguin">Pending</span></td>
      <td><time datetime="{iso(updated - timedelta(hours=2))}">5 h ago</time></td>
      <td class="c-agent"><span title="agent-7">agent-7</span></td>
      <td><span>hot</span><span>vip</span></td>
      <td>Thanks!</td>
      <td>meera@example.org</td>
      <td>+91 9876500003</td>
      <td class="c-upd"><time datetime="{iso(updated)}">3 h ago</time></td>
    </tr>"""
    assertHTMLEqual(row, expected)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_row_without_status_picture_or_message(agent_client, settings):
    settings.BOTPANEL_THIRD_PARTY_IMAGES = True
    make_lead(1, name="", email="", status="", picture="javascript:alert(1)", missing_since=BASE)
    make_lead(2, name="Zoë " + "ä" * 70, status="WEIRD", last_message_text="é" * 100)
    html = agent_client.get("/leads/").content.decode()
    odd, blank = rows_of(html)
    uuid = "00000000-0000-4000-8000-000000000001"
    # no name or email: "Visitor" and the end of the uuid; the initials stand in for the picture
    assertInHTML(
        '<div><i aria-hidden="true">?</i>'
        f'<a class="lead-link" href="/leads/{uuid}/">Visitor · 000001</a>'
        '<span class="badge text-bg-secondary">missing</span></div>',
        blank,
    )
    assertInHTML('<span class="st st-none">—</span>', blank)  # no status: a choice to make
    assertInHTML('<td class="c-agent"></td>', blank)  # unassigned
    assert "<td></td>" in blank  # no message
    # a status BotPanel does not know: a dash, and a choice to make
    assertInHTML('<span class="st st-none">—</span>', odd)
    # long texts are clipped with an ellipsis (60 characters for the name, 70 for the message)
    assertInHTML(f'<a class="lead-link" href="/leads/{uuid[:-1]}2/">Zoë {"ä" * 55}…</a>', odd)
    assertInHTML(f"<td>{'é' * 69}…</td>", odd)


def test_pictures_load_only_when_the_setting_allows_third_party_images(agent_client, settings):
    make_lead(1, name="Meera Iyer", picture="https://cdn.example.org/m.png")
    html = agent_client.get("/leads/").content.decode()
    assert "cdn.example.org" not in html
    assertInHTML('<i aria-hidden="true">MI</i>', html)
    settings.BOTPANEL_THIRD_PARTY_IMAGES = True
    html = agent_client.get("/leads/").content.decode()
    assert 'src="https://cdn.example.org/m.png"' in html


def test_hostile_values_in_every_cell_are_text(agent_client, settings):
    settings.BOTPANEL_THIRD_PARTY_IMAGES = True
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
    # the name, the email, a tag, the agent (tooltip), the message, the phone
    assert row.count("&lt;script&gt;alert(") == 6, row
    assert "&lt;i&gt;+1&lt;/i&gt; &lt;script&gt;" in row  # the dial code before the number
    text = escape(XSS)
    assertInHTML(f"<td>{text}</td>", row)  # the email
    assertInHTML(f"<span>{text}</span>", row)  # the tag
    assert '<span title="&lt;script&gt;alert(' in row  # the agent id in full in the tooltip


def test_the_header_links_sort_and_go_back_to_the_first_page(agent_client):
    for n in range(3):
        make_lead(n)
    html = agent_client.get("/leads/?status=OPEN&page=2&sort=-name").content.decode()
    head = header_of(html)
    assertInHTML(
        '<th class="c-name desc orderable" scope="col" aria-sort="descending">'
        '<a href="?status=OPEN&amp;sort=name">Name<span aria-hidden="true"> ▼</span></a></th>',
        head,
    )
    assertInHTML(
        '<th class="c-phone orderable" scope="col">'
        '<a href="?status=OPEN&amp;sort=phone">Phone</a></th>',
        head,
    )
    # the selection column: a labelled box that selects the page's rows
    assertInHTML(
        '<th class="c-sel" scope="col"><label><input type="checkbox" id="select-page" '
        'aria-label="Select all on this page"></label></th>',
        head,
    )
    assertInHTML('<th class="c-tags" scope="col">Tags</th>', head)  # no sorting
    columns = re.findall(r"<th[^>]*>(?:<label.*?</label>|<a[^>]*>)?([^<]*)", head)
    assert columns == [
        "",
        "Name",
        "Status",
        "Waiting",
        "Agent",
        "Tags",
        "Last message",
        "Email",
        "Phone",
        "Updated",
    ]


@pytest.mark.parametrize(
    ("sort", "column", "classes", "link", "aria"),
    [
        ("", "Updated", "c-upd desc orderable", "remote_updated_at", "descending"),  # default
        ("", "Name", "c-name orderable", "name", ""),
        ("name", "Name", "asc c-name orderable", "-name", "ascending"),
        (
            "-remote_updated_at",
            "Updated",
            "c-upd desc orderable",
            "remote_updated_at",
            "descending",
        ),
        ("agent_id", "Agent", "asc c-agent orderable", "-agent_id", "ascending"),
    ],
)
def test_each_sort_shows_in_its_column_alone(agent_client, sort, column, classes, link, aria):
    make_lead(1)
    html = agent_client.get(f"/leads/?sort={sort}" if sort else "/leads/").content.decode()
    head = header_of(html)
    sorted_by = f' aria-sort="{aria}"' if aria else ""
    arrow = {"descending": " ▼", "ascending": " ▲"}.get(aria)
    shown = f'<span aria-hidden="true">{arrow}</span>' if aria else ""
    assertInHTML(
        f'<th class="{classes}" scope="col"{sorted_by}>'
        f'<a href="?sort={link}">{column}{shown}</a></th>',
        head,
    )
    assert len(re.findall(r"aria-sort=", head)) == 1


def test_one_tables_sort_does_not_show_in_the_next(agent_client):
    make_lead(1)
    agent_client.get("/leads/?sort=name")
    head = header_of(agent_client.get("/leads/").content.decode())
    assertInHTML(
        '<th class="c-name orderable" scope="col"><a href="?sort=name">Name</a></th>', head
    )


def test_the_pagination_keeps_the_query(agent_client):
    for n in range(80):
        make_lead(n)
    html = agent_client.get("/leads/?per_page=25&page=2&status=OPEN").content.decode()
    nav = html.split('<nav aria-label="Pages" id="pager">')[1].split("</nav>")[0]
    assertInHTML(
        '<li class="page-item"><a href="?per_page=25&amp;status=OPEN&amp;page=1" '
        'class="page-link" rel="prev"><span aria-hidden="true">‹</span> Previous</a></li>',
        nav,
    )
    # on a phone the current page reads "Page 2 of 4" and the other numbers are hidden
    assertInHTML(
        '<li class="page-item active"><a class="page-link" '
        'href="?per_page=25&amp;status=OPEN&amp;page=2" aria-current="page">'
        '<span class="d-sm-none">Page </span>2<span class="d-sm-none"> of 4</span></a></li>',
        nav,
    )
    assertInHTML(
        '<li class="page-item"><a href="?per_page=25&amp;status=OPEN&amp;page=3" '
        'class="page-link" rel="next">Next <span aria-hidden="true">›</span></a></li>',
        nav,
    )
    assertInHTML(
        '<li class="page-item d-none d-sm-block"><a class="page-link" '
        'href="?per_page=25&amp;status=OPEN&amp;page=4">4</a></li>',
        nav,
    )
    assert re.findall(r">(\d+)(?:<span[^>]*>[^<]*</span>)?</a>", nav) == ["1", "2", "3", "4"]


def test_no_pagination_for_one_page_and_a_message_for_none(agent_client):
    make_lead(1)
    html = agent_client.get("/leads/").content.decode()
    assert "pagination" not in html
    html = agent_client.get("/leads/?tag=nothing").content.decode()
    assertInHTML('<tr><td colspan="10">No leads match these filters.</td></tr>', html)


def test_the_list_shows_times_in_the_sites_time_zone(agent_client, settings):
    """The rows hold the moment (UTC) and its relative text; the page names the time zone in
    which app.js writes the exact time in the tooltip (a row must stay light)."""
    settings.TIME_ZONE = "Asia/Kolkata"
    moment = datetime(2026, 10, 5, 23, 50, tzinfo=UTC)
    make_lead(1, remote_updated_at=moment, last_message_at=moment, last_message_text="hi")
    html = agent_client.get("/leads/").content.decode()
    (row,) = rows_of(html)
    assert '<td class="c-upd"><time datetime="2026-10-05T23:50:00Z">' in row, row
    assert '<html lang="en" data-tz="Asia/Kolkata">' in html


def test_moments_are_relative_with_the_exact_time_in_the_time_zone_asked_for():
    from leads.web.display import moment, relative

    kolkata = ZoneInfo("Asia/Kolkata")
    at = datetime(2026, 10, 5, 23, 50, tzinfo=UTC)
    assert moment(at, at + timedelta(hours=3, minutes=59), kolkata) == (
        '<time datetime="2026-10-05T23:50:00Z" title="6 Oct 2026, 05:20 IST">3 h ago</time>'
    )
    assert moment(None, at) == ""
    cases = [
        (timedelta(seconds=-59), "just now"),
        (timedelta(minutes=-1), "1 min ago"),
        (timedelta(minutes=-59, seconds=-59), "59 min ago"),
        (timedelta(hours=-1), "1 h ago"),
        (timedelta(days=-1), "1 day ago"),
        (timedelta(days=-29), "29 days ago"),
        (timedelta(days=-30), "1 month ago"),
        (timedelta(days=-400), "1 year ago"),
        (timedelta(days=2, minutes=1), "in 2 days"),
        (timedelta(minutes=5), "in 5 min"),
    ]
    assert [relative(at + delta, at) for delta, _ in cases] == [text for _, text in cases]


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
    assert "Zoë &lt;b&gt;" in listed and "&lt;i&gt;" in listed and "x" * 69 + "…" in listed


def test_a_row_changed_since_it_was_last_shown_is_shown_as_it_is_now(agent_client, settings):
    """Rows are rendered once for the same values (tables.RENDERED_ROWS): a changed value shows
    at once."""
    from leads.models import Lead

    moment = datetime(2026, 10, 5, 23, 50, tzinfo=UTC)
    lead = make_lead(1, name="Before", status="OPEN", remote_updated_at=moment)
    (before,) = rows_of(agent_client.get("/leads/").content.decode())
    assert "Before" in before and '"st st-OPEN"' in before
    Lead.objects.filter(pk=lead.pk).update(name="After", status="CLOSED", version=7)
    (after,) = rows_of(agent_client.get("/leads/").content.decode())
    assert "After" in after and "Before" not in after
    assert '"st st-CLOSED"' in after and 'data-v="7"' in after
    (filtered,) = rows_of(agent_client.get("/leads/?status=CLOSED").content.decode())
    assert "?status=CLOSED" in filtered  # its link keeps the list's filter


def test_a_cached_row_tells_its_relative_times_from_the_current_minute(agent_client):
    """A row made a while ago is not shown again with its old "just now"."""
    from unittest import mock

    from leads.web import tables

    start = tables.this_minute()
    make_lead(1, remote_updated_at=start)
    (first,) = rows_of(agent_client.get("/leads/").content.decode())
    assert ">just now</time>" in first
    later = start + timedelta(minutes=3)
    with mock.patch.object(tables, "this_minute", return_value=later):
        (again,) = rows_of(agent_client.get("/leads/").content.decode())
    assert ">3 min ago</time>" in again


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


def test_moments_are_shown_in_the_person_s_own_time_zone(agent_client, user):
    from leads.models import AgentProfile

    lead = make_lead(1, remote_updated_at=datetime(2026, 10, 5, 23, 50, tzinfo=UTC))
    profile = AgentProfile.objects.create(user=user, time_zone="Asia/Kolkata")
    html = agent_client.get("/leads/").content.decode()
    assert 'data-tz="Asia/Kolkata"' in html  # the list's tooltips, written by app.js
    detail = agent_client.get(f"/leads/{lead.uuid}/").content.decode()
    assert 'title="6 Oct 2026, 05:20 IST"' in detail
    profile.time_zone = "America/New_York"
    profile.save()  # seen at once, not after the cached value expires
    detail = agent_client.get(f"/leads/{lead.uuid}/").content.decode()
    assert 'title="5 Oct 2026, 19:50 EDT"' in detail
    profile.time_zone = "Mars/Olympus_Mons"  # not a zone: the server's
    profile.save()
    detail = agent_client.get(f"/leads/{lead.uuid}/").content.decode()
    assert 'title="5 Oct 2026, 23:50 UTC"' in detail
