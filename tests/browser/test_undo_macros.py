"""Undo and triage macros in a real browser (Debian's Chromium via Playwright), as an agent and
as a lead admin, at a laptop's 1366×900 and a phone's 390×844: each test checks the page and
what the sandbox (BotPenguin) received and now holds."""

import re

import pytest
from playwright.sync_api import expect

from leads.models import Lead, Macro
from tests.browser.pages import sign_in, watch_policy
from tests.factories import history_sentences, link, make_lead

pytestmark = pytest.mark.django_db(transaction=True)

SIZES = {"laptop": (1366, 900), "phone": (390, 844)}
ACCOUNTS = {"agent": ("agent", "agent-pass-123"), "lead admin": ("leadadmin", "leadadmin-pass-123")}


@pytest.fixture
def leads(botpenguin, user, lead_admin):
    link(user, "64a1a9d0aa00000000000042")
    link(lead_admin, "64a1a9d0aa00000000000077")
    return [
        make_lead(n, sandbox=botpenguin.sandbox, status=status, tags=["new"])
        for n, status in enumerate(["OPEN", "OPEN", "REVIEW"])
    ]


@pytest.fixture
def review_macro(leads):
    return Macro.objects.create(
        name="To review", status="REVIEW", add_tags=["callback"], remove_tags=["new"], key="r"
    )


@pytest.fixture(
    params=[(role, size) for role in ACCOUNTS for size in SIZES], ids=lambda p: "-".join(p)
)
def person(request, browser, live_server, leads):
    """A signed-in page for each role at each size."""
    role, size = request.param
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems = watch_policy(page)
    sign_in(page, live_server, *ACCOUNTS[role])
    yield page
    assert problems == []
    context.close()


def statuses_sent(sandbox, lead) -> list[str]:
    return [put.body["status"] for put in sandbox.puts(lead.uuid) if "status" in put.body]


def test_change_a_status_then_undo_it_within_ten_seconds(person, live_server, leads, botpenguin):
    page, lead = person, leads[0]
    page.goto(f"{live_server.url}/leads/{lead.uuid}/")
    page.select_option("#status-select", "REVIEW")
    page.click("#status-form button[type=submit]")
    toast = page.locator("#undo-toast")
    expect(toast).to_have_attribute("role", "status")
    expect(toast.locator(".undo-offer")).to_contain_text("status Open → Review")
    button = page.locator("#undo-button")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box["width"] >= 40 and box["height"] >= 40
    button.click()
    expect(page.locator("#messages")).to_contain_text("Undone: Person 0 is back as it was.")
    expect(page.locator("#status-select")).to_have_value("OPEN")
    assert statuses_sent(botpenguin.sandbox, lead) == ["REVIEW", "OPEN"]
    assert botpenguin.sandbox.get_chat(lead.uuid)["status"] == "OPEN"
    assert history_sentences(page.content())[:2] == [
        "undo: status Review → Open",
        "status Open → Review",
    ]


def test_the_toast_is_gone_after_ten_seconds(page, live_server, leads, user):
    page.clock.install()
    sign_in(page, live_server, *ACCOUNTS["agent"])
    page.goto(f"{live_server.url}/leads/{leads[0].uuid}/")
    page.select_option("#status-select", "CLOSED")
    page.click("#status-form button[type=submit]")
    offer = page.locator("#undo-toast .undo-offer")
    expect(offer).to_be_visible()
    page.clock.run_for(9_000)
    expect(offer).to_be_visible()
    page.clock.run_for(2_000)
    expect(offer).to_have_count(0)
    assert Lead.objects.get(pk=leads[0].pk).status == "CLOSED"


def test_undo_of_an_inline_status_change_on_the_list(page, live_server, leads, botpenguin):
    sign_in(page, live_server, *ACCOUNTS["lead admin"])
    page.goto(f"{live_server.url}/leads/")
    page.wait_for_selector("body[data-list-ready]", state="attached")
    row = page.locator(f'#lead-table tr[data-uuid="{leads[1].uuid}"]')
    row.locator("select.js-row-status").select_option("ONHOLD")
    offer = page.locator("#undo-toast .undo-offer")
    expect(offer).to_contain_text("Person 1: status Open → On hold")
    page.click("#undo-button")
    expect(page.locator("#messages")).to_contain_text("Undone")
    expect(page).to_have_url(re.compile(r"/leads/$"))
    assert statuses_sent(botpenguin.sandbox, leads[1]) == ["ONHOLD", "OPEN"]
    assert Lead.objects.get(pk=leads[1].pk).status == "OPEN"


def test_undo_of_a_bulk_change_puts_each_lead_back(page, live_server, leads, botpenguin):
    sign_in(page, live_server, *ACCOUNTS["agent"])
    page.goto(f"{live_server.url}/leads/")
    page.wait_for_selector("body[data-list-ready]", state="attached")
    for lead in (leads[0], leads[2]):
        page.locator(f'#lead-table tr[data-uuid="{lead.uuid}"] input[name="selected"]').check()
    page.select_option("#bulk-action", "set_status")
    page.select_option("#bulk-status", "CLOSED")
    page.click("#bulk-apply")
    expect(page.locator("#undo-toast .undo-offer")).to_contain_text("2 leads changed")
    page.click("#undo-button")
    expect(page.locator("#messages")).to_contain_text("Undone: 2 leads put back")
    assert [Lead.objects.get(pk=x.pk).status for x in leads] == ["OPEN", "OPEN", "REVIEW"]
    assert statuses_sent(botpenguin.sandbox, leads[2]) == ["CLOSED", "REVIEW"]


def test_a_macro_by_key_on_the_lead_page_and_on_the_lists_focused_row(
    person, live_server, leads, review_macro, botpenguin
):
    page = person
    page.goto(f"{live_server.url}/leads/{leads[0].uuid}/")
    expect(page.locator("#macros .macro-button")).to_have_text("To review r")
    page.keyboard.press("r")
    expect(page.locator("#messages")).to_contain_text("To review applied to Person 0.")
    expect(page.locator("#undo-toast .undo-offer")).to_contain_text("macro: status Open → Review")
    (put,) = botpenguin.sandbox.puts(leads[0].uuid)
    assert (put.body["status"], put.body["tags"]) == ("REVIEW", ["callback"])

    page.goto(f"{live_server.url}/leads/")
    page.wait_for_selector("body[data-list-ready]", state="attached")
    page.locator(f'#lead-table tr[data-uuid="{leads[1].uuid}"]').focus()
    page.keyboard.press("r")
    expect(page.locator("#messages")).to_contain_text("To review applied to Person 1.")
    expect(page).to_have_url(re.compile(r"/leads/$"))
    chat = botpenguin.sandbox.get_chat(leads[1].uuid)
    assert (chat["status"], chat["profile"]["userDetails"]["tags"]) == ("REVIEW", ["callback"])
    page.click("#undo-button")
    expect(page.locator("#messages")).to_contain_text("Undone: Person 1 is back as it was.")
    assert botpenguin.sandbox.get_chat(leads[1].uuid)["status"] == "OPEN"


def test_a_macro_on_the_selected_rows_from_the_bulk_bar(page, live_server, leads, review_macro):
    sign_in(page, live_server, *ACCOUNTS["agent"])
    page.goto(f"{live_server.url}/leads/")
    page.wait_for_selector("body[data-list-ready]", state="attached")
    for lead in leads[:2]:
        page.locator(f'#lead-table tr[data-uuid="{lead.uuid}"] input[name="selected"]').check()
    page.click("#macros .macro-button")
    expect(page.locator("#messages")).to_contain_text("To review: 2 changed.")
    assert [Lead.objects.get(pk=x.pk).tags for x in leads] == [["callback"], ["callback"], ["new"]]


def test_the_toast_and_the_macros_pass_axe(page, live_server, leads, review_macro):
    from axe_playwright_python.sync_playwright import Axe

    sign_in(page, live_server, *ACCOUNTS["agent"])
    page.goto(f"{live_server.url}/leads/{leads[0].uuid}/")
    page.keyboard.press("r")
    expect(page.locator("#undo-toast .undo-offer")).to_be_visible()
    results = Axe().run(
        page, context={"include": [["#undo-toast"], ["#macros"], ["#history"], ["#notes"]]}
    )
    assert results.violations_count == 0, results.generate_report()
