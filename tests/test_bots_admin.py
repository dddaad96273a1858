"""The Bot admin: superusers manage every bot; lead admins the settings and team of their bots,
never the token; the token is write-only (never rendered, never listed, never in the history)."""

import pytest
from django.contrib.admin.models import LogEntry

from leads.models import Bot
from tests.factories import env_bot

pytestmark = pytest.mark.django_db

TOKEN = "bot-admin-secret-token-8c1e"


def fields(bot: Bot, **changes) -> dict:
    data = {
        "name": bot.name,
        "api_url": bot.api_url,
        "remote_bot_id": bot.remote_bot_id,
        "customer_id": bot.customer_id,
        "active": "on" if bot.active else "",
        "members": [user.pk for user in bot.members.all()],
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


@pytest.fixture
def website(lead_admin):
    env_bot()
    bot = Bot.objects.create(
        name="Website", api_url="http://127.0.0.1:9", remote_bot_id="web", customer_id="c1"
    )
    bot.set_token(TOKEN)
    bot.save()
    bot.members.add(lead_admin)
    return bot


@pytest.fixture
def whatsapp(website):
    return Bot.objects.create(
        name="WhatsApp", api_url="http://127.0.0.1:9", remote_bot_id="wa", customer_id="c2"
    )


def test_a_superuser_sets_a_token_that_is_never_shown_again(staff_client, website):
    url = f"/admin/leads/bot/{website.pk}/change/"
    page = staff_client.get(url).content.decode()
    assert 'name="new_token"' in page and 'type="password"' in page
    assert TOKEN not in page and TOKEN[-4:] not in page
    new = "replaced-token-77aa"
    response = staff_client.post(url, fields(website, new_token=new))
    assert response.status_code == 302
    website.refresh_from_db()
    assert website.reveal_token() == new
    # Left empty: the token is kept.
    staff_client.post(url, fields(website, name="Website 2"))
    website.refresh_from_db()
    assert (website.name, website.reveal_token()) == ("Website 2", new)
    for page in (
        staff_client.get(url),
        staff_client.get("/admin/leads/bot/"),
        staff_client.get(f"/admin/leads/bot/{website.pk}/history/"),
    ):
        assert new not in page.content.decode() and new[-4:] not in page.content.decode()
    assert not any(new in entry.change_message for entry in LogEntry.objects.all())


def test_a_superuser_adds_a_bot_with_its_token(staff_client, website):
    response = staff_client.post(
        "/admin/leads/bot/add/",
        {
            "name": "Telegram",
            "api_url": "http://127.0.0.1:9",
            "remote_bot_id": "tg",
            "customer_id": "c3",
            "active": "on",
            "new_token": "tg-token-1234",
        },
    )
    assert response.status_code == 302
    assert Bot.objects.get(name="Telegram").reveal_token() == "tg-token-1234"


def test_a_lead_admin_manages_their_bots_settings_and_team_but_not_the_token(
    lead_admin_client, website, whatsapp, user
):
    listing = lead_admin_client.get("/admin/leads/bot/").content.decode()
    assert "Website" in listing and "WhatsApp" not in listing
    url = f"/admin/leads/bot/{website.pk}/change/"
    page = lead_admin_client.get(url).content.decode()
    assert 'name="new_token"' not in page and TOKEN not in page
    response = lead_admin_client.post(
        url,
        fields(website, customer_id="c1-new", new_token="sneaky-token", members=[user.pk]),
    )
    assert response.status_code == 302
    website.refresh_from_db()
    assert website.customer_id == "c1-new"
    assert website.reveal_token() == TOKEN  # a posted token is not even a field for them
    assert list(website.members.all()) == [user]


def test_a_lead_admin_cannot_see_add_or_delete_other_bots(lead_admin_client, website, whatsapp):
    for url in (
        f"/admin/leads/bot/{whatsapp.pk}/change/",
        f"/admin/leads/bot/{whatsapp.pk}/history/",
        f"/admin/leads/bot/{whatsapp.pk}/delete/",
    ):
        assert lead_admin_client.get(url).status_code == 404
    assert (
        lead_admin_client.post(
            f"/admin/leads/bot/{whatsapp.pk}/change/", fields(whatsapp, name="Mine now")
        ).status_code
        == 404
    )
    assert Bot.objects.get(pk=whatsapp.pk).name == "WhatsApp"
    assert lead_admin_client.get("/admin/leads/bot/add/").status_code == 403
    assert lead_admin_client.get(f"/admin/leads/bot/{website.pk}/delete/").status_code == 403


def test_an_agent_has_no_bot_admin(client, user, website):
    user.is_staff = True
    user.save()
    client.force_login(user)
    assert client.get("/admin/leads/bot/").status_code == 403


def test_the_environments_bot_keeps_its_settings_in_the_environment(staff_client, website):
    page = staff_client.get(f"/admin/leads/bot/{env_bot().pk}/change/").content.decode()
    assert 'name="new_token"' not in page and 'name="api_url"' not in page
    assert "from the environment" in page
