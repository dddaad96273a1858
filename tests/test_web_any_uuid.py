"""Any uuid the mirror holds can be opened and edited: every link BotPanel draws to a lead (list
rows, prev/next, the detail page's forms, the redirect after an edit, Activity) reaches that very
lead, the PUT carries its exact uuid, and no URL ever opens a different lead."""

import re
from html import escape, unescape

import pytest

from leads.models import Lead
from tests.factories import BOT_ID, CUSTOMER_ID, make_lead, row_status_url

pytestmark = pytest.mark.django_db(transaction=True)

HOSTILE = [
    "a/b",
    "a/b/edit/status",
    "%2F",
    "%41",
    "?x=1",
    "#frag",
    " spaced ",
    "ü",
    "..",
    ".",
    ".hidden.",
    "a/../b",
    "bulk",
    "tags",
    "~!$&'()*+,;=:@",
    ("a/ü?%#. " * 32)[:255],
]
NAME = "Target <Lead>"


def links(html: str, pattern: str) -> list[str]:
    """The unescaped URLs that `pattern` (with one group) finds in the page."""
    return [unescape(url) for url in re.findall(pattern, html)]


def one_link(html: str, pattern: str) -> str:
    (url,) = links(html, pattern)
    return url


def shown_uuids(html: str) -> list[str]:
    """The uuids a detail page shows (unescaped: Django and Jinja2 escape quotes differently)."""
    found = re.findall(r"UUID</dt><dd[^>]*><code>(.*?)</code>", html, re.S)
    return [unescape(text) for text in found]


def shows(html: str, uuid: str) -> bool:
    """The detail page is that lead's: its uuid and its name are on it."""
    return shown_uuids(html) == [uuid] and escape(NAME) in html


def row_of(html: str, uuid: str) -> str:
    """The list row of the lead with this uuid."""
    rows = re.findall(r'<tr data-uuid="([^"]*)".*?</tr>', html, re.S)
    found = [
        match.group(0)
        for match in re.finditer(r'<tr data-uuid="([^"]*)".*?</tr>', html, re.S)
        if unescape(match.group(1)) == uuid
    ]
    assert len(found) == 1, f"{len(found)} rows for {uuid!r} among {rows}"
    return found[0]


@pytest.fixture(params=HOSTILE, ids=lambda uuid: repr(uuid)[:24])
def target(request, botpenguin) -> Lead:
    """A lead with a hostile uuid between two ordinary neighbours (newest first: 3, 2, 1)."""
    make_lead(1, sandbox=botpenguin.sandbox)
    lead = make_lead(2, sandbox=botpenguin.sandbox, uuid=request.param, name=NAME)
    make_lead(3, sandbox=botpenguin.sandbox)
    return lead


def detail_link(client, uuid: str, query: str = "") -> str:
    """The list's link to the lead with this uuid."""
    html = client.get(f"/leads/{query}").content.decode()
    return one_link(row_of(html, uuid), r'class="lead-link" href="([^"]*)"')


def only_put(botpenguin) -> dict:
    (put,) = botpenguin.sandbox.puts()
    assert put.status == 200
    return put.body


def test_the_list_links_to_the_lead_and_its_page_opens(agent_client, target):
    url = detail_link(agent_client, target.uuid, "?status=OPEN")
    assert url.endswith("/?status=OPEN")
    response = agent_client.get(url)
    assert response.status_code == 200
    assert shows(response.content.decode(), target.uuid)


def test_neighbours_open_and_link_to_it(agent_client, target):
    newer, older = Lead.objects.get(name="Person 3"), Lead.objects.get(name="Person 1")
    newer_page = agent_client.get(detail_link(agent_client, newer.uuid))
    older_page = agent_client.get(detail_link(agent_client, older.uuid))
    assert (newer_page.status_code, older_page.status_code) == (200, 200)
    following = one_link(newer_page.content.decode(), r'href="([^"]*)" id="next-lead"')
    previous = one_link(older_page.content.decode(), r'href="([^"]*)" id="prev-lead"')
    for url in (following, previous):
        page = agent_client.get(url)
        assert page.status_code == 200 and shows(page.content.decode(), target.uuid)
        # and from the lead itself, back to each neighbour
        html = page.content.decode()
        assert agent_client.get(one_link(html, r'href="([^"]*)" id="prev-lead"')).status_code == 200
        assert agent_client.get(one_link(html, r'href="([^"]*)" id="next-lead"')).status_code == 200


def test_the_status_form_reaches_that_lead_and_activity_links_to_it(
    agent_client, botpenguin, target
):
    html = agent_client.get(detail_link(agent_client, target.uuid)).content.decode()
    action = one_link(html, r'action="([^"]*)" id="status-form"')
    response = agent_client.post(action, {"status": "REVIEW", "query": "status=OPEN"})
    assert response.status_code == 302
    assert only_put(botpenguin) == {
        "uuid": target.uuid,
        "botId": BOT_ID,
        "customerId": CUSTOMER_ID,
        "status": "REVIEW",
    }
    assert Lead.objects.get(pk=target.pk).status == "REVIEW"
    assert set(Lead.objects.exclude(pk=target.pk).values_list("status", flat=True)) == {"OPEN"}
    back = agent_client.get(response["Location"])
    assert back.status_code == 200 and shows(back.content.decode(), target.uuid)

    activity = agent_client.get("/activity/")
    assert activity.status_code == 200
    rows = re.search(r'id="change-table".*?<tbody.*?</tbody>', activity.content.decode(), re.S)
    page = agent_client.get(one_link(rows.group(0), r'<a href="(/leads/[^"]*)">'))
    assert page.status_code == 200 and shows(page.content.decode(), target.uuid)


def test_the_row_status_edit_reaches_that_lead(agent_client, botpenguin, target):
    html = agent_client.get("/leads/").content.decode()
    action = row_status_url(row_of(html, target.uuid))
    response = agent_client.post(action, {"status": "CLOSED"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert only_put(botpenguin)["uuid"] == target.uuid
    # the re-rendered row links to the lead again
    page = agent_client.get(
        one_link(response.content.decode(), r'class="lead-link" href="([^"]*)"')
    )
    assert shows(page.content.decode(), target.uuid)
    assert Lead.objects.get(pk=target.pk).status == "CLOSED"


def test_a_note_reaches_that_lead(agent_client, botpenguin, target):
    html = agent_client.get(detail_link(agent_client, target.uuid)).content.decode()
    action = one_link(html, r'action="([^"]*)" id="note-form"')
    response = agent_client.post(action, {"title": "Call back", "description": "at 5"})
    assert response.status_code == 302
    body = only_put(botpenguin)
    assert body["uuid"] == target.uuid
    assert body["notes"] == [{"title": "Call back", "description": "at 5"}]
    assert shows(agent_client.get(response["Location"]).content.decode(), target.uuid)


def test_tags_reach_that_lead(agent_client, botpenguin, target):
    html = agent_client.get(detail_link(agent_client, target.uuid)).content.decode()
    action = one_link(html, r'action="([^"]*)" id="tag-form"')
    response = agent_client.post(action, {"tag": "demo"})
    assert response.status_code == 302
    assert only_put(botpenguin) == {
        "uuid": target.uuid,
        "botId": BOT_ID,
        "customerId": CUSTOMER_ID,
        "tags": ["demo"],
    }
    html = agent_client.get(response["Location"]).content.decode()
    assert shows(html, target.uuid)
    # the chip's remove form posts to the same lead
    assert links(html, r'action="([^"]*)" class="d-inline"') == [action]


def test_a_contact_edit_reaches_that_lead(staff_client, botpenguin, target):
    html = staff_client.get(detail_link(staff_client, target.uuid)).content.decode()
    action = one_link(html, r'action="([^"]*)" id="contact-form"')
    data = {
        "name": NAME,
        "email": "target@example.org",
        "dial_code": target.dial_code,
        "phone": target.phone,
        "picture": "",
        "agent_id": "",
        "attr-TOTAL_FORMS": "0",
        "attr-INITIAL_FORMS": "0",
        "attr-MIN_NUM_FORMS": "0",
        "attr-MAX_NUM_FORMS": "100",
    }
    response = staff_client.post(action, data)
    assert response.status_code == 302, response.content.decode()[:500]
    assert only_put(botpenguin) == {
        "uuid": target.uuid,
        "botId": BOT_ID,
        "customerId": CUSTOMER_ID,
        "email": "target@example.org",
    }
    assert Lead.objects.get(pk=target.pk).email == "target@example.org"
    assert shows(staff_client.get(response["Location"]).content.decode(), target.uuid)


# --- a uuid that looks like another lead's URL ----------------------------------------------------


@pytest.fixture
def lookalikes(botpenguin) -> tuple[Lead, Lead, Lead]:
    return (
        make_lead(1, sandbox=botpenguin.sandbox, uuid="a", name="Lead A"),
        make_lead(2, sandbox=botpenguin.sandbox, uuid="a/edit/status", name="Lead A slash"),
        make_lead(3, sandbox=botpenguin.sandbox, uuid="%61", name="Lead percent"),
    )


def test_lookalike_uuids_each_open_their_own_lead(agent_client, lookalikes):
    for lead in lookalikes:
        page = agent_client.get(detail_link(agent_client, lead.uuid)).content.decode()
        assert shown_uuids(page) == [lead.uuid] and escape(lead.name) in page


def test_lookalike_status_edit_changes_only_its_lead(agent_client, botpenguin, lookalikes):
    a, slash, percent = lookalikes
    html = agent_client.get(detail_link(agent_client, slash.uuid)).content.decode()
    response = agent_client.post(
        one_link(html, r'action="([^"]*)" id="status-form"'), {"status": "REVIEW"}
    )
    assert response.status_code == 302
    assert only_put(botpenguin)["uuid"] == "a/edit/status"
    statuses = dict(Lead.objects.values_list("uuid", "status"))
    assert statuses == {"a": "OPEN", "a/edit/status": "REVIEW", "%61": "OPEN"}


@pytest.mark.parametrize(
    ("path", "opens"),
    [
        ("/leads/a/", "a"),
        ("/leads/%61/", "a"),  # the same URL: an unreserved character may be percent-encoded
        ("/leads/%2561/", None),  # "%61" quoted once is read as an escape of "a", refused
        ("/leads/%252561/", "%61"),
        ("/leads/a/edit/status/", None),  # lead a's status form, which takes only a POST
        ("/leads/a%2Fedit%2Fstatus/", None),  # the same URL
        ("/leads/a%252fedit%252fstatus/", None),  # lower-case escapes: not the canonical spelling
        ("/leads/A/", None),
    ],
)
def test_hand_made_urls_never_open_another_lead(agent_client, lookalikes, path, opens):
    response = agent_client.get(path)
    if opens is None:
        assert response.status_code in (404, 405)
        assert shown_uuids(response.content.decode()) == []
    else:
        assert response.status_code == 200
        assert shown_uuids(response.content.decode()) == [opens]


def test_every_fixed_route_beside_the_lead_urls_is_spelled_out_by_the_converter():
    """A lead whose uuid is a fixed route's name ("bulk") must not open that route: every fixed
    path segment right under leads/ needs its place in converters.SPELLED_OUT."""
    from django.urls import URLPattern, get_resolver

    from leads.web.converters import SPELLED_OUT

    fixed = set()
    for pattern in get_resolver().url_patterns:
        for inner in getattr(pattern, "url_patterns", [pattern]):
            if not isinstance(inner, URLPattern):
                continue
            route = str(getattr(pattern, "pattern", "")) + str(inner.pattern)
            if route.startswith("leads/") and "<" not in route.split("/")[1]:
                fixed.add(route.split("/")[1])
    assert fixed - {""} <= SPELLED_OUT
    assert {"bulk", "tags"} <= fixed  # the check sees the routes it is for
