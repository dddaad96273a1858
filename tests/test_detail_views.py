"""The detail page and its forms: what the page shows, the exact PUT each form sends, one test per
validation rule (nothing sent, error by the field, input kept), and the API's refusals."""

import re

import pytest
from django.db import connection

from leads.models import Lead, LeadChange
from tests.factories import BOT_ID, CUSTOMER_ID, SANDBOX_TOKEN, make_lead

pytestmark = pytest.mark.django_db(transaction=True)

NOTES = [
    {"id": "n1", "title": "First", "description": "Older note"},
    {"id": "n2", "title": "Second", "description": "Newer note"},
]


@pytest.fixture
def lead(botpenguin):
    return make_lead(
        5,
        sandbox=botpenguin.sandbox,
        name="Meera Iyer",
        tags=["pricing", "Hot"],
        notes=NOTES,
        attributes=[{"key": "plan", "value": "annual"}],
        picture="https://cdn.example.org/u/meera.png",
        city="Chennai",
        country="India",
        last_message_text="Thanks! An agent will call you.",
        last_message_by="bot",
        raw={"uuid": "x", "secret_looking": "raw-json-marker"},
    )


def url(lead, action=""):
    return f"/leads/{lead.uuid}/" + (f"edit/{action}/" if action else "")


def only_put(botpenguin) -> dict:
    (put,) = botpenguin.sandbox.puts()
    assert put.headers["x-bp-token"] == SANDBOX_TOKEN and put.status == 200
    return put.body


def base_body(lead) -> dict:
    return {"uuid": lead.uuid, "botId": BOT_ID, "customerId": CUSTOMER_ID}


def test_detail_shows_every_field(agent_client, lead, settings):
    settings.BOTPANEL_THIRD_PARTY_IMAGES = True
    html = agent_client.get(url(lead)).content.decode()
    for text in (
        "Meera Iyer",
        "person5@example.org",
        "+91 9876500005",
        "Open",
        "pricing",
        "Hot",
        "Chennai",
        "India",
        "plan",
        "annual",
        "Thanks! An agent will call you.",
        lead.uuid,
        lead.remote_id,
    ):
        assert text in html, text
    assert 'src="https://cdn.example.org/u/meera.png"' in html
    # notes newest first
    assert html.index("Newer note") < html.index("Older note")
    # raw JSON only for admins
    assert "raw-json-marker" not in html


def test_admins_see_the_raw_json_collapsed(staff_client, lead):
    html = staff_client.get(url(lead)).content.decode()
    assert "raw-json-marker" in html and "<details" in html
    assert 'id="contact-form"' in html


def test_agents_do_not_get_the_contact_form(agent_client, lead):
    html = agent_client.get(url(lead)).content.decode()
    assert 'id="contact-form"' not in html


def test_unknown_lead_is_404(agent_client, botpenguin):
    assert agent_client.get("/leads/nope/").status_code == 404


@pytest.mark.parametrize(
    "picture", ["javascript:alert(1)", "data:image/png;base64,AAAA", "//evil.example/x.png", ""]
)
def test_picture_only_when_http_else_initials(agent_client, botpenguin, picture):
    lead = make_lead(1, name="Zoë Smith", picture=picture)
    html = agent_client.get(url(lead)).content.decode()
    assert not re.search(r'src="(javascript|data):', html)
    assert 'href="javascript:' not in html
    assert ">ZS<" in html


def test_hostile_strings_are_escaped(agent_client, botpenguin):
    lead = make_lead(
        1,
        name="<script>alert(1)</script>",
        notes=[{"id": "", "title": '"><img src=x onerror=alert(1)>', "description": "<b>hi</b>"}],
        attributes=[{"key": "<i>k</i>", "value": "<svg onload=alert(1)>"}],
    )
    html = agent_client.get(url(lead)).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert (
        "<img src=x onerror" not in html and "<svg onload" not in html and "<b>hi</b>" not in html
    )
    assert "&lt;script&gt;" in html


def test_previous_and_next_follow_the_list_filter(agent_client, botpenguin):
    leads = [make_lead(n, status="REVIEW" if n % 2 else "OPEN") for n in range(6)]
    middle = leads[3]  # REVIEW leads are 1, 3, 5; newest first: 5, 3, 1
    html = agent_client.get(url(middle) + "?status=REVIEW").content.decode()
    assert f'href="/leads/{leads[5].uuid}/?status=REVIEW" id="prev-lead"' in html
    assert f'href="/leads/{leads[1].uuid}/?status=REVIEW" id="next-lead"' in html
    assert 'href="/leads/?status=REVIEW"' in html


# --- status ---------------------------------------------------------------------------------------


def test_status_form(agent_client, botpenguin, lead):
    response = agent_client.post(url(lead, "status"), {"status": "DEPENDANCY", "query": "q=m"})
    assert response.status_code == 302
    assert response["Location"] == f"/leads/{lead.uuid}/?q=m"
    assert only_put(botpenguin) == {**base_body(lead), "status": "DEPENDANCY"}
    page = agent_client.get(response["Location"]).content.decode()
    assert "Saved: status Dependency." in page
    assert Lead.objects.get(pk=lead.pk).status == "DEPENDANCY"


def refused(client, lead, form: str, data: dict, query: str = "") -> str:
    """Post `data` to the lead's `form`, which refuses it: the answer redirects to the lead's
    page (Post/Redirect/Get), which shows the form as posted with why; returns that page."""
    response = client.post(url(lead, form), data)
    assert response.status_code == 302, response.content.decode()[:300]
    assert response["Location"] == f"/leads/{lead.uuid}/{query}"
    page = client.get(response["Location"])
    assert page.status_code == 200
    return page.content.decode()


def test_status_must_be_one_of_the_six(agent_client, botpenguin, lead):
    html = refused(agent_client, lead, "status", {"status": "WON"})
    assert "Select a valid choice" in html
    assert botpenguin.sandbox.puts() == []


def test_a_refused_form_shows_once_and_a_reload_posts_nothing(agent_client, botpenguin, lead):
    html = refused(
        agent_client, lead, "note", {"title": "", "description": "kept", "query": "q=m"}, "?q=m"
    )
    assert "A note needs a title" in html and ">kept</textarea>" in html
    again = agent_client.get(f"/leads/{lead.uuid}/?q=m")  # what reloading the page does
    assert again.status_code == 200
    assert "A note needs a title" not in again.content.decode()
    assert botpenguin.sandbox.puts() == []


def test_a_status_that_is_already_set_says_so(agent_client, botpenguin, lead):
    Lead.objects.filter(pk=lead.pk).update(status="ONHOLD")
    response = agent_client.post(url(lead, "status"), {"status": "ONHOLD"}, follow=True)
    assert "Already On hold — nothing changed." in response.content.decode()
    assert botpenguin.sandbox.puts() == []


def test_a_conflict_is_shown_after_the_redirect_with_the_version_to_resubmit(
    agent_client, botpenguin, lead
):
    seen_version = lead.version
    Lead.objects.filter(pk=lead.pk).update(status="REVIEW", version=seen_version + 1)
    html = refused(agent_client, lead, "status", {"status": "CLOSED", "version": seen_version})
    assert 'id="conflict"' in html
    assert '<td class="conflict-current">Review</td>' in html
    assert '<td class="conflict-yours">Closed</td>' in html
    assert f'name="version" value="{seen_version + 1}"' in html
    assert botpenguin.sandbox.puts() == []


# --- notes ----------------------------------------------------------------------------------------


def test_add_note_sends_every_existing_note_plus_the_new_one(agent_client, botpenguin, lead):
    response = agent_client.post(
        url(lead, "note"), {"title": "Call back", "description": "After 5 pm, in Tamil"}
    )
    assert response.status_code == 302
    assert only_put(botpenguin) == {
        **base_body(lead),
        "notes": [
            {"title": "First", "description": "Older note"},
            {"title": "Second", "description": "Newer note"},
            {"title": "Call back", "description": "After 5 pm, in Tamil"},
        ],
    }
    html = agent_client.get(url(lead)).content.decode()
    assert html.index("After 5 pm, in Tamil") < html.index("Newer note")
    assert [n["title"] for n in Lead.objects.get(pk=lead.pk).notes] == [
        "First",
        "Second",
        "Call back",
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": "", "description": "typed text kept"}, "A note needs a title"),
        ({"title": "t" * 201, "description": "typed text kept"}, "at most 200 characters"),
        ({"title": "ok", "description": "typed text kept" + "d" * 5000}, "at most 5000"),
    ],
)
def test_note_rules(agent_client, botpenguin, lead, data, message):
    html = refused(agent_client, lead, "note", data)
    assert message in html and "invalid-feedback" in html
    assert "typed text kept" in html  # what the person typed is still there
    assert botpenguin.sandbox.puts() == []


# --- tags -----------------------------------------------------------------------------------------


def test_add_tag_sends_the_whole_new_list(agent_client, botpenguin, lead):
    agent_client.post(url(lead, "tags"), {"tag": "  demo "})
    assert only_put(botpenguin) == {**base_body(lead), "tags": ["pricing", "Hot", "demo"]}
    assert Lead.objects.get(pk=lead.pk).tags == ["pricing", "Hot", "demo"]
    assert lead.tag_rows.filter(key="demo").exists()


def test_remove_tag_sends_the_whole_new_list(agent_client, botpenguin, lead):
    agent_client.post(url(lead, "tags"), {"remove": "Hot"})
    assert only_put(botpenguin) == {**base_body(lead), "tags": ["pricing"]}
    assert Lead.objects.get(pk=lead.pk).tags == ["pricing"]
    assert not lead.tag_rows.filter(key="hot").exists()


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("", "Type a tag to add."),
        ("   ", "Type a tag to add."),
        ("x" * 51, "A tag is 1–50 characters."),
        ("HOT", "This lead already has the tag &quot;Hot&quot;."),
    ],
)
def test_tag_rules(agent_client, botpenguin, lead, tag, message):
    html = refused(agent_client, lead, "tags", {"tag": tag})
    assert message in html
    if tag.strip():
        assert f'value="{tag}"' in html
    assert botpenguin.sandbox.puts() == []


def test_tag_suggestions_come_from_tags_in_use(agent_client, botpenguin, lead):
    make_lead(9, tags=["hot", "vip"])
    html = agent_client.get("/leads/tags/").content.decode()
    # "Hot" and "hot" are one tag (used twice): it comes first, most used first.
    assert re.findall(r'<option value="([^"]+)">', html) == ["Hot", "pricing", "vip"]


def test_tag_suggestions_are_counted_once_a_minute(agent_client, lead):
    """Every list page loads them; counting groups every tag row, so they are cached."""
    from django.test.utils import CaptureQueriesContext

    agent_client.get("/")  # the person's own cached values (their time zone) are read once
    with CaptureQueriesContext(connection) as cold:
        agent_client.get("/leads/tags/")
    make_lead(9, tags=["brand-new"])
    with CaptureQueriesContext(connection) as warm:
        html = agent_client.get("/leads/tags/").content.decode()
    assert len(warm.captured_queries) == len(cold.captured_queries) - 1  # not counted again
    assert "brand-new" not in html  # suggested within the minute, not at once


# --- contact (admins) -------------------------------------------------------------------------------


def contact_data(lead, **overrides):
    data = {
        "name": lead.name,
        "email": lead.email,
        "dial_code": lead.dial_code,
        "phone": lead.phone,
        "picture": lead.picture,
        "agent_id": lead.agent_id,
        "attr-TOTAL_FORMS": "3",
        "attr-INITIAL_FORMS": "1",
        "attr-MIN_NUM_FORMS": "0",
        "attr-MAX_NUM_FORMS": "100",
        "attr-0-key": "plan",
        "attr-0-value": "annual",
        "attr-1-key": "",
        "attr-1-value": "",
        "attr-2-key": "",
        "attr-2-value": "",
    }
    data.update(overrides)
    return data


def test_contact_form_sends_only_changed_fields(staff_client, botpenguin, lead):
    response = staff_client.post(
        url(lead, "contact"),
        contact_data(lead, email="meera.iyer@example.org", dial_code="+44", agent_id="agent-3"),
    )
    assert response.status_code == 302, response.content.decode()[:500]
    assert only_put(botpenguin) == {
        **base_body(lead),
        "email": "meera.iyer@example.org",
        "dialCode": "+44",
        "agentId": "agent-3",
    }
    lead.refresh_from_db()
    assert (lead.email, lead.dial_code, lead.agent_id) == (
        "meera.iyer@example.org",
        "+44",
        "agent-3",
    )
    assert (
        botpenguin.sandbox.get_chat(lead.uuid)["profile"]["userDetails"]["contact"]["phone"][
            "prefix"
        ]
        == "44"
    )


def test_attributes_add_edit_remove(staff_client, botpenguin, lead):
    data = contact_data(
        lead,
        **{"attr-0-value": "monthly", "attr-1-key": "source", "attr-1-value": "whatsapp"},
    )
    staff_client.post(url(lead, "contact"), data)
    assert only_put(botpenguin)["attributes"] == [
        {"key": "plan", "value": "monthly"},
        {"key": "source", "value": "whatsapp"},
    ]
    botpenguin.sandbox.clear_requests()
    lead.refresh_from_db()
    data = contact_data(lead, **{"attr-0-DELETE": "on"})
    staff_client.post(url(lead, "contact"), data)
    assert only_put(botpenguin)["attributes"] == []
    assert Lead.objects.get(pk=lead.pk).attributes == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"dial_code": "91"}, "Dial code must be &quot;+&quot; followed by 1–4 digits"),
        ({"dial_code": "+12345"}, "Dial code must be &quot;+&quot; followed by 1–4 digits"),
        ({"phone": "98x76"}, "A phone number has only digits, spaces and dashes."),
        ({"picture": "javascript:alert(1)"}, "The picture must be an http(s) URL."),
        ({"picture": "ftp://example.org/a.png"}, "The picture must be an http(s) URL."),
        ({"attr-1-key": "", "attr-1-value": "orphan"}, "An attribute needs a key."),
        ({"attr-1-key": "plan", "attr-1-value": "x"}, "The key &quot;plan&quot; is used twice."),
    ],
)
def test_contact_rules(staff_client, botpenguin, lead, overrides, message):
    data = contact_data(lead, name="Typed Name Kept", **overrides)
    html = refused(staff_client, lead, "contact", data)
    assert message in html
    assert 'value="Typed Name Kept"' in html
    assert botpenguin.sandbox.puts() == []
    assert Lead.objects.get(pk=lead.pk).name == "Meera Iyer"


def test_agents_cannot_edit_contacts(agent_client, botpenguin, lead):
    response = agent_client.post(url(lead, "contact"), contact_data(lead, name="Hacked"))
    assert response.status_code == 403
    assert botpenguin.sandbox.puts() == []


# --- the API says no --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("400", "BotPenguin refused the request (HTTP 400): sandbox: injected HTTP 400"),
        ("401", "BotPenguin rejected the API token."),
    ],
)
def test_api_refusal_shows_on_the_form_keeps_input_and_mirror(
    agent_client, botpenguin, lead, fault, message
):
    if fault == "401":
        botpenguin.sandbox.token = "rotated"
    else:
        botpenguin.sandbox.fail_next(1, status=400, method="PUT")
    html = refused(agent_client, lead, "note", {"title": "Kept title", "description": "Kept"})
    assert message in html and 'role="alert"' in html
    assert 'value="Kept title"' in html
    assert SANDBOX_TOKEN not in html
    lead.refresh_from_db()
    assert lead.notes == NOTES and lead.change_state == "" and lead.pending_fields == []
    change = LeadChange.objects.get()
    assert change.state == "discarded" and message.rstrip(".") in change.last_error


def test_an_edit_while_botpenguin_is_down_is_saved_and_pending(agent_client, botpenguin, lead):
    botpenguin.sandbox.fail_puts = True
    response = agent_client.post(
        url(lead, "note"), {"title": "Call back", "description": "Tomorrow"}, follow=True
    )
    html = response.content.decode()
    assert "Saved — will be sent to BotPenguin when it is reachable." in html
    assert "change-badge" in html and ">Pending<" in html
    lead.refresh_from_db()
    assert [n["title"] for n in lead.notes] == ["First", "Second", "Call back"]
    assert lead.pending_fields == ["notes"] and lead.change_state == "pending"
    change = LeadChange.objects.get()
    assert change.state == "pending" and change.attempts == 1 and change.last_http_status == 503


def test_missing_token_setting_is_named(agent_client, botpenguin, lead, settings):
    settings.BOTPENGUIN_API_TOKEN = ""
    html = refused(agent_client, lead, "status", {"status": "CLOSED"})
    assert "BOTPENGUIN_API_TOKEN is not set" in html
    assert botpenguin.sandbox.puts() == []
