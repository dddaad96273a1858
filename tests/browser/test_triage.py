"""A support agent triaging in a real browser (Debian's Chromium via Playwright), against the live
server and the sandbox. Each test checks the page and what the sandbox received."""

import re

import pytest
from playwright.sync_api import expect

from leads.models import Lead
from tests.factories import make_lead

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def leads(botpenguin):
    statuses = ["OPEN", "OPEN", "REVIEW", "OPEN", "CLOSED", "OPEN", "REVIEW", "OPEN"]
    return [
        make_lead(
            n,
            sandbox=botpenguin.sandbox,
            status=status,
            name=f"Person {n}" if n != 6 else "<script>alert(1)</script>",
            tags=["hot"] if n % 2 else [],
            notes=[{"id": "n0", "title": "Old", "description": "First note"}] if n == 7 else [],
        )
        for n, status in enumerate(statuses)
    ]


@pytest.fixture
def agent_page(page, live_server, user, leads):
    page.goto(f"{live_server.url}/leads/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.fill("#id_username", "agent")
    page.fill("#id_password", "agent-pass-123")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Leads")
    page.wait_for_selector("body[data-list-ready]", state="attached")
    return page


def row(page, lead):
    return page.locator(f'#lead-table tr[data-uuid="{lead.uuid}"]')


def test_log_in_filter_by_status_and_search(agent_page, leads, live_server):
    page = agent_page
    expect(page.locator("#lead-table tbody tr")).to_have_count(8)
    # hostile names from the API show as text
    expect(page.get_by_text("<script>alert(1)</script>")).to_be_visible()

    page.locator("#status-tabs a[data-status=REVIEW]").click()
    expect(page).to_have_url(re.compile(r"status=REVIEW"))
    expect(page.locator("#lead-table tbody tr")).to_have_count(2)

    page.goto(f"{live_server.url}/leads/")
    page.keyboard.press("/")
    expect(page.locator("#id_q")).to_be_focused()
    page.keyboard.type("Person 3")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"q=Person\+3"))
    expect(page.locator("#lead-table tbody tr")).to_have_count(1)
    expect(row(page, leads[3])).to_contain_text("person3@example.org")


def test_change_a_status_inline_without_reloading(agent_page, leads, botpenguin):
    page = agent_page
    page.evaluate("window.__marker = 'same page'")
    row(page, leads[0]).locator("select.js-row-status").select_option("ONHOLD")
    # the row comes back from the server with its status (its select again)
    expect(row(page, leads[0]).locator("select.js-row-status.st-ONHOLD")).to_have_value("ONHOLD")
    assert page.evaluate("window.__marker") == "same page"  # no reload
    (put,) = botpenguin.sandbox.puts()
    assert put.body["status"] == "ONHOLD" and put.body["uuid"] == leads[0].uuid
    assert Lead.objects.get(pk=leads[0].pk).status == "ONHOLD"


def test_inline_edit_while_botpenguin_is_down_is_kept_and_marked_pending(
    agent_page, leads, botpenguin
):
    page = agent_page
    botpenguin.sandbox.fail_puts = True
    row(page, leads[1]).locator("select.js-row-status").select_option("CLOSED")
    expect(row(page, leads[1]).locator(".row-error")).to_contain_text(
        "Saved — will be sent to BotPenguin when it is reachable."
    )
    expect(row(page, leads[1]).locator("select.st-CLOSED")).to_have_value("CLOSED")
    expect(row(page, leads[1]).locator(".change-badge")).to_have_text("Pending")
    expect(page.locator("#change-counts")).to_contain_text("1 pending")


def test_inline_refusal_puts_the_row_back_and_shows_why(agent_page, leads, botpenguin):
    page = agent_page
    botpenguin.sandbox.fail_next(1, status=400, method="PUT")
    row(page, leads[1]).locator("select.js-row-status").select_option("CLOSED")
    expect(row(page, leads[1]).locator(".row-error")).to_contain_text("HTTP 400")
    expect(row(page, leads[1]).locator("select.js-row-status.st-OPEN")).to_have_value("OPEN")


def test_add_a_note_and_add_and_remove_a_tag(agent_page, leads, botpenguin, live_server):
    page = agent_page
    lead = leads[7]
    row(page, lead).locator("a.lead-link").click()
    expect(page.locator("#lead-name")).to_have_text("Person 7")

    page.fill("#note-title", "Call back")
    page.fill("#note-description", "Prefers Tamil, after 5 pm")
    page.click("#note-form button[type=submit]")
    expect(page.locator("#messages")).to_contain_text("Saved: note added.")
    expect(page.locator("#notes li").first).to_contain_text("Prefers Tamil, after 5 pm")
    assert botpenguin.sandbox.puts()[-1].body["notes"] == [
        {"title": "Old", "description": "First note"},
        {"title": "Call back", "description": "Prefers Tamil, after 5 pm"},
    ]

    page.fill("#tag-input", "vip")
    page.click("#tag-form button[type=submit]")
    expect(page.locator("#tag-list")).to_contain_text("vip")
    assert botpenguin.sandbox.puts()[-1].body["tags"] == ["hot", "vip"]

    page.get_by_role("button", name="Remove tag hot").click()
    expect(page.locator("#messages")).to_contain_text('tag "hot" removed')
    expect(page.locator("#tag-list")).not_to_contain_text("hot")
    assert botpenguin.sandbox.puts()[-1].body["tags"] == ["vip"]
    assert botpenguin.sandbox.get_chat(lead.uuid)["profile"]["userDetails"]["tags"] == ["vip"]

    # A rule broken: the reason by the field, the input kept, nothing sent.
    sent = len(botpenguin.sandbox.puts())
    page.fill("#tag-input", "VIP")
    page.click("#tag-form button[type=submit]")
    expect(page.locator("#tag-form .invalid-feedback")).to_contain_text("already has the tag")
    expect(page.locator("#tag-input")).to_have_value("VIP")
    assert len(botpenguin.sandbox.puts()) == sent


def test_bulk_set_the_status_of_three_rows(agent_page, leads, botpenguin):
    page = agent_page
    chosen = [leads[0], leads[3], leads[5]]
    for lead in chosen:
        row(page, lead).locator('input[name="selected"]').check()
    expect(page.locator("#selected-count")).to_have_text("3")
    page.select_option("#bulk-action", "set_status")
    page.select_option("#bulk-status", "INPROGRESS")
    page.click("#bulk-apply")
    expect(page.locator("#messages")).to_contain_text("Set status to In progress: 3 changed.")
    for lead in chosen:
        expect(row(page, lead).locator("select.js-row-status")).to_have_value("INPROGRESS")
    assert sorted(p.body["uuid"] for p in botpenguin.sandbox.puts()) == sorted(
        lead.uuid for lead in chosen
    )
    assert all(p.body["status"] == "INPROGRESS" for p in botpenguin.sandbox.puts())


def test_keyboard_triage(agent_page, leads, botpenguin):
    page = agent_page
    # Rows are newest first: 7, 6, 5, ...
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    focused = page.locator("#lead-table tr.row-focus")
    expect(focused).to_have_attribute("data-uuid", leads[6].uuid)
    expect(focused).to_be_focused()  # the real focus, not only a highlight
    page.keyboard.press("6")  # CLOSED
    expect(row(page, leads[6]).locator("select.st-CLOSED")).to_have_value("CLOSED")
    expect(page.locator("#lead-table tr.row-focus")).to_have_attribute("data-uuid", leads[6].uuid)
    (put,) = botpenguin.sandbox.puts()
    assert put.body == {**put.body, "uuid": leads[6].uuid, "status": "CLOSED"}

    page.keyboard.press("x")
    expect(page.locator("#selected-count")).to_have_text("1")
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    expect(page.locator("#shortcuts")).to_be_focused()  # shown (its fade-in is over)
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts")).to_be_hidden()
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page.locator("#lead-name")).to_have_text("Person 5")


def test_phone_width_layout(page, live_server, user, leads):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "agent")
    page.fill("#id_password", "agent-pass-123")
    page.click("button[type=submit]")
    expect(page.locator(".navbar-toggler")).to_be_visible()
    expect(page.locator("#lead-table")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400  # nothing forces a sideways scroll of the whole page


def test_two_agents_edit_the_same_status_and_the_second_sees_the_conflict(
    browser, live_server, user, admin_user, leads, botpenguin
):
    lead = leads[2]
    pages = []
    for username, password in (("agent", "agent-pass-123"), ("boss", "boss-pass-123")):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/?next=/leads/{lead.uuid}/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        expect(page.locator("#lead-name")).to_have_text("Person 2")
        pages.append(page)
    first, second = pages

    first.select_option("#status-form select[name=status]", "CLOSED")
    first.click("#status-form button[type=submit]")
    expect(first.locator("#messages")).to_contain_text("Saved: status Closed.")

    second.select_option("#status-form select[name=status]", "ONHOLD")
    second.click("#status-form button[type=submit]")
    conflict = second.locator("#conflict")
    expect(conflict).to_be_visible()
    expect(conflict.locator(".conflict-current")).to_have_text("Closed")
    expect(conflict.locator(".conflict-yours")).to_have_text("On hold")
    assert [p.body["status"] for p in botpenguin.sandbox.puts(lead.uuid)] == ["CLOSED"]

    # The second agent keeps theirs: saving again applies it.
    second.select_option("#status-form select[name=status]", "ONHOLD")
    second.click("#status-form button[type=submit]")
    expect(second.locator("#messages")).to_contain_text("Saved: status On hold.")
    assert [p.body["status"] for p in botpenguin.sandbox.puts(lead.uuid)] == ["CLOSED", "ONHOLD"]
    for page in pages:
        page.context.close()
