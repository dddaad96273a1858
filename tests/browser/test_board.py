"""The pipeline board in a real browser (Debian's Chromium via Playwright), as an agent and as a
lead admin, at a laptop's 1366×900 and a phone's 390×844: a card dragged to another column, moved
by a key and by its "Move to…" menu, undone; a stale card put back; more cards as a column
scrolls; the form without JavaScript; axe and the size of every control. Each move is checked in
what the sandbox (BotPenguin) received and what the page announces."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leads import services
from leads.models import Lead
from tests.browser.pages import axe_violations, sign_in, small_targets, watch_policy
from tests.factories import link, make_lead

pytestmark = pytest.mark.django_db(transaction=True)

SIZES = {"laptop": (1366, 900), "phone": (390, 844)}
ACCOUNTS = {"agent": ("agent", "agent-pass-123"), "lead admin": ("leadadmin", "leadadmin-pass-123")}


@pytest.fixture
def leads(botpenguin, user, lead_admin):
    link(lead_admin, "64a1a9d0aa00000000000077")
    now = timezone.now()
    return [
        make_lead(
            n,
            sandbox=botpenguin.sandbox,
            status=status,
            tags=["vip"] if n % 2 else [],
            agent_id="64a1a9d0aa00000000000077" if n == 1 else "",
            waiting_since=now - timedelta(hours=n + 1),
            change_state="pending" if n == 4 else "",
        )
        for n, status in enumerate(["OPEN", "OPEN", "REVIEW", "CLOSED", "ONHOLD"])
    ]


@pytest.fixture(
    params=[(role, size) for role in ACCOUNTS for size in SIZES], ids=lambda p: "-".join(p)
)
def person(request, browser, live_server, leads):
    """A signed-in page on the board for each role at each size."""
    role, size = request.param
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems = watch_policy(page)
    sign_in(page, live_server, *ACCOUNTS[role])
    page.goto(f"{live_server.url}/board/")
    page.wait_for_load_state("networkidle")
    yield page
    assert problems == []
    context.close()


def card(page, lead):
    return page.locator(f'.board-card[data-uuid="{lead.uuid}"]')


def column(page, status):
    return page.locator(f'.board-cards[data-status="{status}"]')


def statuses_sent(sandbox, lead) -> list[str]:
    return [put.body["status"] for put in sandbox.puts(lead.uuid) if "status" in put.body]


def drag(page, source, target) -> None:
    """Drag `source` onto the part of `target` the screen shows (on a phone the next column
    peeks in at the edge), with the mouse, in small steps as a hand would."""
    source.scroll_into_view_if_needed()
    start = source.bounding_box()
    box = target.bounding_box()
    width = page.viewport_size["width"]
    right = min(box["x"] + box["width"], width - 2)
    x, y = (max(box["x"], 0) + right) / 2, box["y"] + 20
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + 12)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 10, start["y"] + 20, steps=5)
    page.mouse.move(x, y, steps=20)
    page.mouse.up()


def test_drag_a_card_to_another_column(person, leads, botpenguin):
    page, lead = person, leads[0]
    target = column(page, "INPROGRESS")
    drag(page, card(page, lead), target)
    expect(target.locator(f'.board-card[data-uuid="{lead.uuid}"]')).to_be_visible()
    expect(page.locator("#board-announce")).to_have_text("Person 0 moved to In progress.")
    expect(page.locator('[data-count="INPROGRESS"]')).to_have_text("1")
    expect(page.locator('[data-count="OPEN"]')).to_have_text("1")
    assert statuses_sent(botpenguin.sandbox, lead) == ["INPROGRESS"]
    assert Lead.objects.get(pk=lead.pk).status == "INPROGRESS"


def test_move_a_card_by_key_then_undo(person, leads, botpenguin):
    page, lead = person, leads[1]
    moving = card(page, lead)
    moving.focus()
    page.keyboard.press("3")
    moved = column(page, "REVIEW").locator(f'.board-card[data-uuid="{lead.uuid}"]')
    expect(moved).to_be_focused()
    expect(page.locator("#board-announce")).to_have_attribute("role", "status")
    expect(page.locator("#board-announce")).to_have_text("Person 1 moved to Review.")
    expect(page.locator("#undo-toast .undo-offer")).to_contain_text("status Open → Review")
    button = page.locator("#undo-button")
    box = button.bounding_box()
    assert box["width"] >= 40 and box["height"] >= 40
    button.click()
    expect(page.locator("#messages")).to_contain_text("Undone: Person 1 is back as it was.")
    expect(column(page, "OPEN").locator(f'.board-card[data-uuid="{lead.uuid}"]')).to_be_visible()
    assert statuses_sent(botpenguin.sandbox, lead) == ["REVIEW", "OPEN"]
    assert botpenguin.sandbox.get_chat(lead.uuid)["status"] == "OPEN"


def test_move_a_card_with_its_menu_and_keys_go_from_card_to_card(person, leads, botpenguin):
    page, lead = person, leads[2]
    menu = card(page, lead).locator(".board-move")
    menu.locator("summary").click()
    menu.locator("select").select_option("DEPENDANCY")
    menu.locator("button").click()
    expect(column(page, "DEPENDANCY").locator(f'[data-uuid="{lead.uuid}"]')).to_be_visible()
    expect(page.locator("#board-announce")).to_have_text("Person 2 moved to Dependency.")
    assert statuses_sent(botpenguin.sandbox, lead) == ["DEPENDANCY"]
    # Arrows: down the column, then to the next column with cards.
    card(page, leads[0]).focus()
    page.keyboard.press("ArrowDown")
    expect(card(page, leads[1])).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(card(page, leads[4])).to_be_focused()  # In progress and Review are empty now


def test_a_stale_card_goes_where_the_lead_is_and_says_why(person, leads, lead_admin, botpenguin):
    page, lead = person, leads[0]
    services.lead_set_status(lead=Lead.objects.get(pk=lead.pk), status="ONHOLD", user=lead_admin)
    card(page, lead).focus()
    page.keyboard.press("6")
    back = column(page, "ONHOLD").locator(f'[data-uuid="{lead.uuid}"]')
    expect(back).to_be_visible()
    expect(back.locator(".board-note")).to_contain_text("Lena moved it to On hold")
    expect(page.locator("#board-announce")).to_contain_text("It stays in On hold")
    assert statuses_sent(botpenguin.sandbox, lead) == ["ONHOLD"]
    # The card now carries the lead's version: a second try is an ordinary move.
    back.focus()
    page.keyboard.press("6")
    expect(column(page, "CLOSED").locator(f'[data-uuid="{lead.uuid}"]')).to_be_visible()
    assert statuses_sent(botpenguin.sandbox, lead) == ["ONHOLD", "CLOSED"]


def test_the_board_passes_axe_and_its_controls_are_large_enough(person, leads):
    page = person
    assert axe_violations(page) == [], page.url
    assert small_targets(page, "#board") == []
    card(page, leads[0]).locator("summary").click()
    assert axe_violations(page, "#board") == []
    assert small_targets(page, "#board") == []
    if page.viewport_size["width"] < 576:
        assert small_targets(page) == []
        # The columns scroll sideways on a phone, the page itself does not.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.evaluate("document.getElementById('board').scrollWidth") > 390


def test_more_cards_load_as_a_column_scrolls(browser, live_server, user, botpenguin):
    now = timezone.now()
    for n in range(65):
        make_lead(n, status="REVIEW", waiting_since=now - timedelta(minutes=n))
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    problems = watch_policy(page)
    sign_in(page, live_server, "agent", "agent-pass-123")
    page.goto(f"{live_server.url}/board/")
    cards = column(page, "REVIEW").locator(".board-card")
    expect(cards).to_have_count(50)
    assert axe_violations(page, "#board") == []  # the column's "More … leads" link too
    column(page, "REVIEW").locator(".board-more").scroll_into_view_if_needed()
    expect(cards).to_have_count(65)
    expect(column(page, "REVIEW").locator(".board-more")).to_have_count(0)
    uuids = cards.evaluate_all("els => els.map(e => e.dataset.uuid)")
    assert len(set(uuids)) == 65
    assert problems == []
    context.close()


def test_without_javascript_the_cards_form_moves_it(browser, live_server, leads, botpenguin):
    context = browser.new_context(
        viewport={"width": 1366, "height": 900}, java_script_enabled=False
    )
    page = context.new_page()
    sign_in(page, live_server, "agent", "agent-pass-123")
    page.goto(f"{live_server.url}/board/?tag=vip")
    lead = leads[1]
    menu = card(page, lead).locator(".board-move")
    menu.locator("summary").click()
    menu.locator("select").select_option("CLOSED")
    menu.locator("button").click()
    expect(page.locator("#messages")).to_contain_text("Person 1 moved to Closed.")
    assert page.url.endswith("/board/?tag=vip")
    expect(column(page, "CLOSED").locator(f'[data-uuid="{lead.uuid}"]')).to_be_visible()
    assert statuses_sent(botpenguin.sandbox, lead) == ["CLOSED"]
    context.close()
