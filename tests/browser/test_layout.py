"""Pages that fit (issue 18), in a real browser at a laptop's size (1366x900) and a phone's
(390x844), as an agent and as a lead admin: the list without sideways scrolling and with at least
15 rows above the fold, cards and a usable pager on a phone with targets of 40 px or more, the
detail page with triage first, Post/Redirect/Get, real focus with j/k, pictures falling back
to initials, and the copy buttons."""

import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils.timezone import now
from playwright.sync_api import expect

from tests.browser.pages import small_targets, watch_policy
from tests.factories import make_lead

pytestmark = pytest.mark.django_db(transaction=True)

LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
ACCOUNTS = {"agent": ("agent", "agent-pass-123"), "lead admin": ("leadadmin", "leadadmin-pass-123")}


@pytest.fixture
def leads(botpenguin):
    """30 leads (two pages of 25): long names and addresses, tags, agents, one nameless."""
    start = now() - timedelta(days=3)
    return [
        make_lead(
            n,
            sandbox=botpenguin.sandbox,
            name="" if n == 29 else f"Person {n} " + "Longname" * (n % 3),
            email="" if n == 29 else f"person{n}.with.a.rather.long.address@example.org",
            tags=["hot", "pricing", "callback-requested"][: n % 4],
            agent_id=f"64a1a9d0aa0000{n:010d}" if n % 2 else "",
            last_message_text="Hello, I would like to know the price of the annual plan " * 2,
            remote_updated_at=start + timedelta(minutes=n),
            status=["OPEN", "INPROGRESS", "REVIEW", "ONHOLD", "DEPENDANCY", "CLOSED"][n % 6],
        )
        for n in range(30)
    ]


@pytest.fixture(params=sorted(ACCOUNTS))
def person(request, user, lead_admin):
    return ACCOUNTS[request.param]


def open_list(page, live_server, person, size, path="/leads/"):
    page.set_viewport_size(size)
    page.goto(f"{live_server.url}/accounts/login/?next={quote(path)}")
    page.fill("#id_username", person[0])
    page.fill("#id_password", person[1])
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-list-ready]", state="attached")


def rows(page):
    return page.locator("#lead-table tbody tr[data-uuid]")


def test_the_list_fits_a_laptop(page, live_server, person, leads):
    problems = watch_policy(page)
    open_list(page, live_server, person, LAPTOP)
    expect(rows(page)).to_have_count(25)
    sizes = page.evaluate(
        """() => ({page: document.documentElement.scrollWidth,
                   view: document.documentElement.clientWidth,
                   wrap: document.getElementById('lead-table-wrap').scrollWidth,
                   wrapView: document.getElementById('lead-table-wrap').clientWidth})"""
    )
    assert sizes["page"] <= sizes["view"], sizes  # no horizontal scroll
    assert sizes["wrap"] <= sizes["wrapView"], sizes  # the table fits its container
    above_fold = page.evaluate(
        """() => [...document.querySelectorAll('#lead-table tbody tr[data-uuid]')]
                 .filter(tr => tr.getBoundingClientRect().bottom <= window.innerHeight).length"""
    )
    assert above_fold >= 15
    # The default sort column, Updated, is on screen, in the header and in every row.
    updated = page.locator("#lead-table th.c-upd")
    expect(updated).to_be_visible()
    expect(updated).to_have_attribute("aria-sort", "descending")
    assert updated.bounding_box()["x"] + updated.bounding_box()["width"] <= LAPTOP["width"]
    expect(rows(page).first.locator("td.c-upd time")).to_have_text(
        re.compile(r"^\d+ (min|h|days?) ago$")
    )
    # One status control per row, no badge beside it.
    expect(rows(page).first.locator("select, .status-badge")).to_have_count(1)
    # The name keeps room to be read beside the queues panel (columns give way before it does).
    names = page.evaluate(
        "() => [...document.querySelectorAll('#lead-table tbody th')]"
        ".map(th => th.getBoundingClientRect().width)"
    )
    assert min(names) >= 192, names  # 12rem
    assert problems == []


def test_columns_give_way_by_priority_as_the_window_narrows(page, live_server, person, leads):
    open_list(page, live_server, person, {"width": 1920, "height": 900})
    shown = "#lead-table th:visible"
    expect(page.locator("#lead-table th.c-email")).to_be_visible()
    page.set_viewport_size({"width": 1100, "height": 900})
    expect(page.locator("#lead-table th.c-email")).to_be_hidden()  # priority 5 first
    expect(page.locator("#lead-table th.c-agent")).to_be_visible()
    page.set_viewport_size({"width": 720, "height": 900})  # the panel is a menu below 992 px
    expect(page.locator("#lead-table th.c-agent")).to_be_hidden()
    for kept in ("c-name", "c-status", "c-upd"):
        expect(page.locator(f"#lead-table th.{kept}")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 720, page.locator(shown).all_inner_texts()


def test_a_nameless_lead_is_a_visitor_sorted_after_the_named(page, live_server, person, leads):
    open_list(page, live_server, person, LAPTOP, "/leads/?sort=name&per_page=50")
    expect(rows(page).last.locator("a.lead-link")).to_have_text("Visitor · 000029")
    page.locator("#lead-table th.c-name a").click()  # descending
    expect(page.locator("#lead-table th.c-name")).to_have_attribute("aria-sort", "descending")
    expect(rows(page).last.locator("a.lead-link")).to_have_text("Visitor · 000029")


def test_select_all_on_the_page(page, live_server, person, leads):
    open_list(page, live_server, person, LAPTOP)
    page.get_by_label("Select all on this page").check()
    expect(page.locator("#selected-count")).to_have_text("25")
    rows(page).first.locator('input[name="selected"]').uncheck()
    expect(page.locator("#selected-count")).to_have_text("24")
    assert page.evaluate("document.getElementById('select-page').indeterminate")
    # The bulk status has no default: nothing is sent before a status is chosen.
    expect(page.locator("#bulk-status")).to_have_value("")
    page.click("#bulk-apply")
    assert page.evaluate("!document.getElementById('bulk-status').validity.valid")
    expect(page).to_have_url(re.compile(r"/leads/$"))


def test_j_and_k_move_the_real_focus(page, live_server, person, leads, botpenguin):
    open_list(page, live_server, person, LAPTOP)
    first, second = leads[-1], leads[-2]  # newest first
    page.keyboard.press("j")
    expect(rows(page).nth(0)).to_be_focused()
    expect(rows(page).nth(0)).to_have_attribute("tabindex", "0")
    page.keyboard.press("j")
    expect(rows(page).nth(1)).to_be_focused()
    expect(rows(page).nth(0)).to_have_attribute("tabindex", "-1")
    assert page.evaluate("document.activeElement.dataset.uuid") == second.uuid
    page.keyboard.press("k")
    expect(rows(page).nth(0)).to_be_focused()
    page.keyboard.press("4")  # On hold, and the row keeps the focus after its swap
    expect(rows(page).nth(0).locator("select.st-ONHOLD")).to_have_value("ONHOLD")  # swapped
    expect(rows(page).nth(0)).to_be_focused()
    assert botpenguin.sandbox.puts()[-1].body["status"] == "ONHOLD"
    page.keyboard.press("x")
    expect(page.locator("#selected-count")).to_have_text("1")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/leads/{first.uuid}/"))


def test_the_list_on_a_phone(page, live_server, person, leads):
    problems = watch_policy(page)
    open_list(page, live_server, person, PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # rows are cards: one column of blocks, no header row of column names
    assert (
        page.evaluate("getComputedStyle(document.querySelector('#lead-table tbody tr')).display")
        == "grid"
    )
    expect(page.locator("#lead-table th.c-status")).to_be_hidden()
    card = rows(page).first
    expect(card.locator("a.lead-link")).to_be_visible()
    expect(card.locator("select.js-row-status")).to_be_visible()
    expect(card.locator("td.c-upd")).to_be_visible()
    # the pager: every item on screen, and its links usable
    pager = page.locator("#pager")
    pager.scroll_into_view_if_needed()
    for item in pager.locator("li:visible").all():
        box = item.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    expect(pager.locator(".active")).to_contain_text("Page 1 of 2")
    assert small_targets(page, "body") == []
    # the queues are a menu on a phone, its targets as large
    page.get_by_role("button", name="Queues", exact=True).click()
    expect(page.locator("#side-panel.show")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert small_targets(page, "#side-panel") == []
    page.get_by_role("button", name="Close the queues").click()
    expect(page.locator("#side-panel.show")).to_have_count(0)
    pager.get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(rows(page)).to_have_count(5)
    assert problems == []


def test_the_detail_page_on_a_phone_puts_triage_first(page, live_server, person, leads):
    lead = leads[4]
    open_list(page, live_server, person, PHONE)
    page.goto(f"{live_server.url}/leads/{lead.uuid}/")
    order = page.evaluate(
        """() => ['#status-form', '#tag-list', '#notes', '#lead-fields']
                 .map(s => document.querySelector(s).getBoundingClientRect().top)"""
    )
    assert order == sorted(order), order
    assert order[0] < PHONE["height"]  # status on the first screen
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert small_targets(page, "body") == []


def test_a_refused_form_redirects_and_a_reload_is_not_a_405(page, live_server, person, leads):
    lead = leads[4]
    open_list(page, live_server, person, LAPTOP)
    page.goto(f"{live_server.url}/leads/{lead.uuid}/?status=OPEN")
    page.fill("#note-description", "Typed, kept")
    page.click("#note-form button[type=submit]")
    expect(page.locator("#note-form .invalid-feedback")).to_contain_text("A note needs a title")
    expect(page.locator("#note-description")).to_have_value("Typed, kept")
    expect(page).to_have_url(f"{live_server.url}/leads/{lead.uuid}/?status=OPEN")
    response = page.reload()
    assert response.status == 200
    expect(page.locator("#note-form .invalid-feedback")).to_have_count(0)


def test_a_picture_that_fails_falls_back_to_initials(page, live_server, person, settings):
    settings.BOTPANEL_THIRD_PARTY_IMAGES = True
    broken = f"{live_server.url}/static/no-such-picture.png"
    lead = make_lead(1, name="Meera Iyer", picture=broken)
    open_list(page, live_server, person, LAPTOP)
    expect(rows(page).first.locator("span.avatar")).to_have_text("MI")
    expect(rows(page).first.locator("img")).to_have_count(0)
    page.goto(f"{live_server.url}/leads/{lead.uuid}/")
    expect(page.locator("span.avatar-lg")).to_have_text("MI")
    expect(page.locator("img.avatar")).to_have_count(0)


def test_contact_actions_and_copy(page, live_server, person, botpenguin):
    lead = make_lead(
        1,
        sandbox=botpenguin.sandbox,
        email="meera@example.org",
        dial_code="+91",
        phone="098765 43210",
    )
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_list(page, live_server, person, LAPTOP)
    page.goto(f"{live_server.url}/leads/{lead.uuid}/")
    expect(page.locator("#contact-email")).to_have_attribute("href", "mailto:meera@example.org")
    expect(page.locator("#contact-phone")).to_have_attribute("href", "tel:+919876543210")
    expect(page.locator("#contact-whatsapp")).to_have_attribute(
        "href", "https://wa.me/919876543210"
    )
    page.get_by_role("button", name="Copy phone number").click()
    done = page.locator("#contact-phone ~ .copy-done")
    expect(done).to_have_text("Copied")
    expect(done).to_have_attribute("role", "status")
    assert page.evaluate("navigator.clipboard.readText()") == "+919876543210"
