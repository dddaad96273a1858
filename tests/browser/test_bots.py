"""Two bots in a real browser: an agent of both switches between them with the navigation's
bot switcher, the choice is in the URL and stays, and an agent of one bot never sees the other."""

import re

import pytest
from playwright.sync_api import expect

from leads.models import Bot
from tests.browser.pages import sign_in, watch_policy
from tests.factories import env_bot, make_lead

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_bots(user):
    website = env_bot()
    whatsapp = Bot.objects.create(
        name="WhatsApp", api_url="http://127.0.0.1:9", remote_bot_id="wa", customer_id="c"
    )
    make_lead(1, name="Web Visitor", bot=website)
    make_lead(2, name="Chat Sender", bot=whatsapp)
    return website, whatsapp


def test_an_agent_of_two_bots_switches_between_them(page, live_server, user, two_bots):
    website, whatsapp = two_bots
    website.members.add(user)
    whatsapp.members.add(user)
    problems = watch_policy(page)
    sign_in(page, live_server, "agent", "agent-pass-123")
    table = page.locator("#lead-table")
    expect(table).to_contain_text("Web Visitor")
    expect(table).to_contain_text("Chat Sender")
    page.click("#bot-switcher-button")
    page.click(f'#bot-switcher a[data-bot="{whatsapp.pk}"]')
    expect(page).to_have_url(re.compile(rf"[?&]bot={whatsapp.pk}\b"))
    expect(table).to_contain_text("Chat Sender")
    expect(table).not_to_contain_text("Web Visitor")
    expect(page.locator("#bot-switcher-button")).to_contain_text("WhatsApp")
    # Remembered: the list without a bot in its URL keeps the choice.
    page.goto(f"{live_server.url}/leads/")
    expect(table).not_to_contain_text("Web Visitor")
    page.click("#bot-switcher-button")
    page.click('#bot-switcher a[data-bot="all"]')
    expect(table).to_contain_text("Web Visitor")
    assert problems == []


def test_an_agent_of_one_bot_sees_no_switcher_and_none_of_the_other(
    page, live_server, user, two_bots
):
    website, whatsapp = two_bots
    website.members.remove(user)  # a member since the second bot came (nobody loses access)
    whatsapp.members.add(user)
    sign_in(page, live_server, "agent", "agent-pass-123")
    table = page.locator("#lead-table")
    expect(table).to_contain_text("Chat Sender")
    expect(table).not_to_contain_text("Web Visitor")
    expect(page.locator("#bot-switcher")).to_have_count(0)
    other = website.leads.get()
    response = page.goto(f"{live_server.url}/leads/{other.uuid}/")
    assert response.status == 404
