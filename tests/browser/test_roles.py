"""Roles and the Content-Security-Policy in a real browser: what an agent and a lead admin see,
no page breaking its own policy, and a new account's first sign-in with a one-time password."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.browser.pages import sign_in, watch_policy
from tests.factories import make_lead

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hostile_lead(botpenguin):
    return make_lead(
        1,
        sandbox=botpenguin.sandbox,
        name='<img src=x onerror="document.body.dataset.pwned=1">',
        picture="https://127.0.0.1:9/none.png",
        tags=["vip"],
    )


def test_an_agent_triages_but_sees_no_admin_controls(page, live_server, user, hostile_lead):
    problems = watch_policy(page)
    sign_in(page, live_server, "agent", "agent-pass-123")
    expect(page.locator("h1")).to_have_text("Leads")
    expect(page.locator("#sync-now")).to_have_count(0)
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    page.goto(f"{live_server.url}/leads/{hostile_lead.uuid}/")
    expect(page.locator("#status-form")).to_be_visible()
    expect(page.locator("#contact-form")).to_have_count(0)
    assert page.evaluate("document.body.dataset.pwned") is None
    # typing the admin URL gets the reason, not the page
    response = page.goto(f"{live_server.url}/admin/leads/lead/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    assert response.status == 200
    assert problems == []


def test_a_lead_admin_works_under_the_policy(page, live_server, lead_admin, hostile_lead):
    problems = watch_policy(page)
    sign_in(page, live_server, "leadadmin", "leadadmin-pass-123")
    expect(page.locator("h1")).to_have_text("Leads")
    expect(page.locator("#sync-now")).to_be_visible()
    page.goto(f"{live_server.url}/leads/{hostile_lead.uuid}/")
    expect(page.locator("#contact-form")).to_be_visible()
    page.fill("#contact-form input[name=name]", "Safe Name")
    page.click("#contact-form button[type=submit]")
    expect(page.locator("#messages")).to_contain_text("Saved")
    page.goto(f"{live_server.url}/admin/leads/lead/")
    expect(page.locator("#result_list")).to_be_visible()
    page.goto(f"{live_server.url}/admin/leads/lead/{hostile_lead.pk}/change/")
    expect(page.locator("#lead_form")).to_be_visible()
    assert page.evaluate("document.body.dataset.pwned") is None
    assert problems == []


def test_a_new_agent_signs_in_with_a_one_time_password(page, live_server, capsys, botpenguin):
    call_command("createagent", "priya", "--name", "Priya")
    password = capsys.readouterr().out.split("One-time password: ")[1].split()[0]
    sign_in(page, live_server, "priya", password)
    expect(page).to_have_url(re.compile(r"/accounts/password_change/"))
    expect(page.locator("#messages")).to_contain_text("one-time password")
    page.goto(f"{live_server.url}/leads/")  # nothing else until a password is chosen
    expect(page).to_have_url(re.compile(r"/accounts/password_change/"))
    page.fill("#id_old_password", password)
    page.fill("#id_new_password1", "Priya-chose-this-42")
    page.fill("#id_new_password2", "Priya-chose-this-42")
    page.click("main button[type=submit]")
    expect(page).to_have_url(re.compile(r"/accounts/password_change/done/"))
    page.goto(f"{live_server.url}/leads/")
    expect(page.locator("h1")).to_have_text("Leads")
    expect(page.locator("#user-menu")).to_have_text("Priya")
