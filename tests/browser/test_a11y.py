"""Accessibility (issue 18): axe-core, bundled by axe-playwright-python (no network), finds no
violation of any impact on each page, as an agent and as a lead admin, at a laptop's size and
a phone's."""

from datetime import timedelta

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils.timezone import now
from playwright.sync_api import expect

from leads.models import LeadChange
from tests.browser.pages import axe_violations, sign_in
from tests.factories import make_lead

pytestmark = pytest.mark.django_db(transaction=True)

ACCOUNTS = {"agent": ("agent", "agent-pass-123"), "lead admin": ("leadadmin", "leadadmin-pass-123")}
SIZES = {"laptop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def leads(botpenguin):
    """Leads in every state a page draws: statuses, tags, notes, an agent, a nameless one, a
    missing one, one with an edit waiting and one refused."""
    made = [
        make_lead(
            n,
            sandbox=botpenguin.sandbox,
            name="" if n == 0 else f"Person {n}",
            email="" if n == 0 else f"person{n}@example.org",
            status=["OPEN", "INPROGRESS", "REVIEW", "ONHOLD", "DEPENDANCY", "CLOSED", ""][n % 7],
            tags=["hot", "vip"][: n % 3],
            agent_id="64a1a9d0aa00000000000042" if n % 2 else "",
            notes=[{"id": "n1", "title": "Call back", "description": "After 5 pm"}]
            if n == 1
            else [],
            attributes=[{"key": "plan", "value": "annual"}] if n == 1 else [],
            waiting_since=now() - timedelta(hours=n * 7),
            missing_since=now() if n == 5 else None,
            change_state={2: "pending", 3: "failed"}.get(n, ""),
        )
        for n in range(8)
    ]
    lead = made[1]
    LeadChange.objects.create(
        lead=lead,
        action="status",
        before={"status": "REVIEW"},
        after={"status": "INPROGRESS"},
        state="delivered",
    )
    return made


def url_of(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


PAGES = {
    "overview": lambda leads: url_of("leads:home"),
    "list": lambda leads: url_of("leads:list"),
    "list filtered": lambda leads: (url_of("leads:list") or "") + "?status=OPEN&tag=hot&q=Person",
    "list sorted by name": lambda leads: (url_of("leads:list") or "") + "?sort=name",
    "other chats": lambda leads: (url_of("leads:list") or "") + "?type=non-lead",
    "detail": lambda leads: url_of("leads:detail", leads[1].uuid),
    "detail of a nameless lead": lambda leads: url_of("leads:detail", leads[0].uuid),
    "activity": lambda leads: url_of("leads:activity"),
    # The profile (helper "people") and saved views (helper "queues") pages: checked once their
    # URLs exist.
    "profile": lambda leads: url_of("leads:profile"),
    "saved views": lambda leads: url_of("leads:saved-views"),
}


def check(page) -> None:
    page.wait_for_load_state("networkidle")
    assert axe_violations(page) == [], page.url


@pytest.mark.parametrize("size", sorted(SIZES))
def test_the_login_page(page, live_server, size):
    page.set_viewport_size(SIZES[size])
    page.goto(f"{live_server.url}/accounts/login/")
    check(page)
    page.click("button[type=submit]")  # empty: the errors shown are accessible too
    check(page)


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("role", sorted(ACCOUNTS))
@pytest.mark.parametrize("name", list(PAGES))
def test_a_page(page, live_server, user, lead_admin, leads, name, role, size):
    path = PAGES[name](leads)
    if path is None:
        pytest.skip(f"the {name} page's URL is not in leads/urls.py yet")
    page.set_viewport_size(SIZES[size])
    sign_in(page, live_server, *ACCOUNTS[role])
    expect(page.locator("main")).to_be_visible()
    page.goto(f"{live_server.url}{path}")
    check(page)


def test_a_refused_form_and_the_open_menus(page, live_server, user, leads):
    """What appears on demand: a form's errors, the shortcuts dialog, the filter pickers."""
    sign_in(page, live_server, *ACCOUNTS["agent"])
    page.goto(f"{live_server.url}/leads/{leads[1].uuid}/")
    page.click("#note-form button[type=submit]")
    expect(page.locator("#note-form .invalid-feedback")).to_be_visible()
    check(page)
    page.goto(f"{live_server.url}/leads/")
    page.wait_for_selector("body[data-list-ready]", state="attached")
    for picker in page.locator("#filter-form details.picker summary").all():
        picker.click()
    page.keyboard.press("Escape")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    # Once its fade-in has ended: half-transparent text mid-fade fails the contrast check.
    expect(page.locator("#shortcuts")).to_have_css("opacity", "1")
    check(page)


def test_the_checker_finds_what_is_wrong(page):
    """The check can fail: an unlabelled field and an image without text are found."""
    page.set_content('<html lang="en"><title>t</title><main><input><img src="x.png"></main></html>')
    found = axe_violations(page)
    assert any(line.startswith("label ") for line in found), found
    assert any(line.startswith("image-alt ") for line in found), found
