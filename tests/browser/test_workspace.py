"""The triage workspace in a real browser: the queues and saved views panel at a laptop's and a
phone's size, as an agent and as a lead admin; a new lead synced while the list is open is
announced without a reload, and the poll waits while the tab is hidden."""

import copy
import re
import time

import pytest
from playwright.sync_api import expect

from leads.models import SavedView
from tests.browser.pages import axe_violations, sign_in, small_targets, watch_policy
from tests.factories import link, make_chat, make_lead

pytestmark = pytest.mark.django_db(transaction=True)

LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
PEOPLE = {"agent": "agent-pass-123", "leadadmin": "leadadmin-pass-123"}


@pytest.fixture
def leads(user, lead_admin):
    link(user, "A1")
    made = [
        make_lead(n, status=status, agent_id=agent, tags=["vip"] if n % 2 else [])
        for n, (status, agent) in enumerate(
            [("OPEN", "A1"), ("REVIEW", "A1"), ("CLOSED", "A1"), ("OPEN", ""), ("ONHOLD", "")]
        )
    ]
    return made


def open_list(page, live_server, username: str, size: dict, path: str = "/leads/"):
    page.set_viewport_size(size)
    sign_in(page, live_server, username, PEOPLE[username])
    page.goto(f"{live_server.url}{path}")
    expect(page.locator("h1")).to_have_text("Leads")


def queue(page, key: str):
    return page.locator(f'#queues-list a[data-queue="{key}"]')


@pytest.mark.parametrize("username", ["agent", "leadadmin"])
def test_the_panel_at_a_laptops_size(page, live_server, leads, username):
    problems = watch_policy(page)
    open_list(page, live_server, username, LAPTOP)
    panel = page.locator("#side-panel")
    expect(panel).to_be_visible()
    # the counts come with the panel's own request, after the page
    expect(queue(page, "open").locator(".queue-count")).to_have_text("4")
    expect(queue(page, "unassigned").locator(".queue-count")).to_have_text("2")
    expect(queue(page, "mine").locator(".queue-count")).to_have_text(
        "2" if username == "agent" else "0"
    )
    # the panel sits beside the list, which still fits the window
    assert (
        panel.bounding_box()["x"] + panel.bounding_box()["width"]
        <= (page.locator("#lead-table").bounding_box()["x"])
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]

    queue(page, "unassigned").click()
    expect(page).to_have_url(re.compile(r"agent=none&status_not=CLOSED"))
    expect(page.locator("#lead-table tbody tr")).to_have_count(2)
    expect(queue(page, "unassigned")).to_have_attribute("aria-current", "page")

    # save this list as a view: it is listed with its count and reopens the same list
    page.fill("#save-view-name", "Nobody's")
    page.click("#save-view-button")
    expect(page.locator("#messages")).to_contain_text("Saved the view “Nobody's”")
    view = page.locator("#my-views a", has_text="Nobody's")
    expect(view.locator(".queue-count")).to_have_text("2")
    page.goto(f"{live_server.url}/leads/")
    page.locator("#my-views a", has_text="Nobody's").click()
    expect(page).to_have_url(re.compile(r"agent=none&status_not=CLOSED"))
    expect(page.locator("#match-count")).to_have_text("2 matching")

    assert axe_violations(page, "#side-panel") == []
    assert problems == []


@pytest.mark.parametrize("username", ["agent", "leadadmin"])
def test_the_panel_is_a_menu_on_a_phone(page, live_server, leads, username):
    problems = watch_policy(page)
    open_list(page, live_server, username, PHONE)
    expect(page.locator("#side-panel")).to_be_hidden()
    page.get_by_role("button", name="Queues", exact=True).click()
    expect(page.locator("#side-panel")).to_be_visible()
    expect(queue(page, "open").locator(".queue-count")).to_have_text("4")
    assert small_targets(page, "#side-panel .offcanvas-body") == []
    # the panel's content (the menu around it, an <aside> made a dialog, is the page's)
    assert axe_violations(page, "#queues") == []
    queue(page, "overdue").click()
    expect(page).to_have_url(re.compile(r"overdue=1"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert problems == []


def test_hiding_the_panel_is_remembered_per_person(browser, live_server, leads):
    def laptop(username: str):
        context = browser.new_context(viewport=LAPTOP)
        page = context.new_page()
        sign_in(page, live_server, username, PEOPLE[username])
        page.goto(f"{live_server.url}/leads/")
        return context, page

    context, page = laptop("agent")
    try:
        page.click("#side-panel-toggle")
        expect(page.locator("#side-panel")).to_be_hidden()
        expect(page.locator("#side-panel-toggle")).to_have_text("Show queues")
        page.reload()  # drawn hidden by the server: no flash of the panel
        expect(page.locator("#list-layout")).to_have_class(re.compile(r"\bpanel-hidden\b"))
        expect(page.locator("#side-panel-toggle")).to_have_attribute("aria-expanded", "false")
        # another person in the same browser has their own choice
        page.context.clear_cookies()
        sign_in(page, live_server, "leadadmin", PEOPLE["leadadmin"])
        page.goto(f"{live_server.url}/leads/")
        expect(page.locator("#side-panel")).to_be_visible()
    finally:
        context.close()


def test_the_saved_views_page_as_owner_and_lead_admin(browser, live_server, leads, user):
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    try:
        problems = watch_policy(page)
        sign_in(page, live_server, "agent", PEOPLE["agent"])
        page.goto(f"{live_server.url}/views/")
        page.fill("#new-view-name", "VIP")
        page.fill("#new-view-query", "https://elsewhere.example/?tag=vip")
        page.check("#new-view-shared")
        page.click("#new-view-form button[type=submit]")
        # refused, with the reason, and what was typed kept
        expect(page.locator("#new-view-error")).to_contain_text("not an address")
        expect(page.locator("#new-view-name")).to_have_value("VIP")
        expect(page.locator("#new-view-query")).to_have_value("https://elsewhere.example/?tag=vip")
        page.fill("#new-view-query", "tag=vip")
        page.click("#new-view-form button[type=submit]")
        expect(page).to_have_url(re.compile(r"/leads/\?tag=vip$"))
        expect(page.locator("#match-count")).to_have_text("2 matching")
        assert SavedView.objects.get(name="VIP").shared
        page.goto(f"{live_server.url}/views/")
        assert axe_violations(page) == []
        assert problems == []

        page.context.clear_cookies()
        sign_in(page, live_server, "leadadmin", PEOPLE["leadadmin"])
        page.goto(f"{live_server.url}/views/")
        view = SavedView.objects.get(name="VIP")
        item = page.locator(f"#view-{view.pk}")
        expect(item).to_contain_text("by Asha")
        item.locator("summary").click()
        item.locator('input[name="name"]').fill("VIP leads")
        item.locator("button", has_text="Save").click()
        expect(page.locator(f"#view-{view.pk} a.fw-semibold")).to_have_text("VIP leads")
    finally:
        context.close()


def test_a_lead_synced_while_the_list_is_open_is_announced_without_reload(
    page, live_server, user, botpenguin, settings
):
    from leads.sync.run import sync_leads

    settings.BOTPANEL_NEW_LEADS_POLL_SECONDS = 1
    botpenguin.sandbox.add_chat(copy.deepcopy(make_chat(1)), is_lead=True)
    sync_leads(kinds=["lead"])
    problems = watch_policy(page)
    open_list(page, live_server, "agent", LAPTOP)
    expect(page.locator("#lead-table tbody tr")).to_have_count(1)
    page.evaluate("window.stillThisPage = true")
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/new-leads/" in r.url else None)

    botpenguin.sandbox.add_chat(copy.deepcopy(make_chat(2)), is_lead=True)
    sync_leads(kinds=["lead"])
    expect(page.locator("#new-leads")).to_contain_text("1 new lead", timeout=10_000)
    assert page.evaluate("window.stillThisPage") is True  # announced without a reload

    # a hidden tab does not ask; coming back asks at once
    page.evaluate(
        """() => {
          Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
          document.dispatchEvent(new Event('visibilitychange'));
        }"""
    )
    time.sleep(0.5)
    asked = len(polls)
    time.sleep(2.5)
    assert len(polls) == asked
    page.evaluate(
        """() => {
          Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'});
          document.dispatchEvent(new Event('visibilitychange'));
        }"""
    )
    deadline = time.monotonic() + 3
    while len(polls) == asked and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert len(polls) > asked

    page.click("#new-leads-show")
    expect(page.locator("#lead-table tbody tr")).to_have_count(2)
    assert page.evaluate("window.stillThisPage === undefined")
    assert problems == []
