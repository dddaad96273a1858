"""One list for all of a person's bots, or one: the switcher, the Bot column and filter, the
choice in the URL and remembered, and counts per scope."""

import re

import pytest

from leads.models import Bot
from tests.factories import env_bot, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def bots(user):
    """The agent sees Website (3 leads, 2 open) and WhatsApp (2 leads, 1 open); Hidden (4 leads)
    is another team's."""
    website = env_bot()
    website.name = "Website"
    website.save()
    whatsapp = Bot.objects.create(
        name="WhatsApp", api_url="http://x", remote_bot_id="w", customer_id="c"
    )
    hidden = Bot.objects.create(
        name="Hidden", api_url="http://x", remote_bot_id="h", customer_id="c"
    )
    whatsapp.members.add(user)
    for n, status in enumerate(["OPEN", "OPEN", "CLOSED"]):
        make_lead(n, bot=website, status=status)
    for n, status in enumerate(["OPEN", "REVIEW"], start=10):
        make_lead(n, bot=whatsapp, status=status)
    for n in range(20, 24):
        make_lead(n, bot=hidden, status="OPEN")
    return {"website": website, "whatsapp": whatsapp, "hidden": hidden}


def shown_uuids(response) -> list[str]:
    return re.findall(r'<tr data-uuid="([^"]+)"', response.content.decode())


def test_one_bot_shows_no_switcher_column_or_filter(agent_client):
    make_lead(1)
    page = agent_client.get("/leads/").content.decode()
    assert 'id="bot-switcher"' not in page
    assert 'name="bot"' not in page and ">Bot</th>" not in page and "c-bot" not in page


def test_several_bots_show_a_switcher_with_counts_a_bot_column_and_filter(agent_client, bots):
    page = agent_client.get("/leads/").content.decode()
    switcher = page.split('id="bot-switcher"')[1].split("</ul>")[0]
    assert re.search(r'data-bot="all">All bots <span[^>]*>5<', switcher)
    assert re.search(rf'data-bot="{bots["website"].pk}">Website <span[^>]*>3<', switcher)
    assert re.search(rf'data-bot="{bots["whatsapp"].pk}">WhatsApp <span[^>]*>2<', switcher)
    assert "Hidden" not in page
    assert ">Bot</th>" in page
    assert page.count('<td class="c-bot">WhatsApp</td>') == 2
    assert page.count('<td class="c-bot">Website</td>') == 3
    assert '<select name="bot" id="id_bot"' in page and 'value="all" selected' in page
    assert len(shown_uuids(agent_client.get("/leads/"))) == 5


def test_the_bot_choice_is_in_the_url_counted_and_remembered_until_all_bots(agent_client, bots):
    whatsapp = bots["whatsapp"].pk
    scoped = agent_client.get(f"/leads/?bot={whatsapp}")
    assert len(shown_uuids(scoped)) == 2
    counts = scoped.context["status_counts"]
    assert (counts["all"], counts["OPEN"], counts["REVIEW"]) == (2, 1, 1)
    assert "2 matching" in scoped.content.decode()
    # Links that keep the view (exports, bulk "all matching") carry the bot.
    assert f"bot={whatsapp}" in scoped.context["export_csv"]
    assert f"bot={whatsapp}" in scoped.context["filter_query"]
    # Remembered: the list without a bot parameter stays on WhatsApp, status tabs included.
    again = agent_client.get("/leads/?status=OPEN")
    assert len(shown_uuids(again)) == 1
    assert again.context["status_counts"]["all"] == 2
    assert "active" in again.content.decode().split(f'data-bot="{whatsapp}"')[0].rsplit("<a", 1)[1]
    # The export follows the remembered choice too.
    export = agent_client.get("/leads/?_export=csv").content.decode()
    assert export.count("\n") - 1 == 2
    # "All bots" forgets it.
    everything = agent_client.get("/leads/?bot=all")
    assert len(shown_uuids(everything)) == 5 and everything.context["status_counts"]["all"] == 5
    assert len(shown_uuids(agent_client.get("/leads/"))) == 5


def test_another_teams_bot_in_the_url_shows_nothing_and_is_not_remembered(agent_client, bots):
    hidden = bots["hidden"].pk
    response = agent_client.get(f"/leads/?bot={hidden}")
    assert shown_uuids(response) == [] and response.context["status_counts"]["all"] == 0
    assert len(shown_uuids(agent_client.get("/leads/"))) == 5
    # Bulk "all matching" under that query touches nothing either.
    agent_client.post(
        "/leads/bulk/",
        {"action": "add_tag", "tag": "x", "all_matching": "1", "query": f"bot={hidden}"},
    )
    assert all(lead.tags == [] for lead in bots["hidden"].leads.all())


def test_counts_of_the_same_filters_differ_by_who_sees_which_bots(client, bots, user, admin_user):
    client.force_login(user)
    assert client.get("/leads/?status=OPEN").context["status_counts"]["OPEN"] == 3
    client.force_login(admin_user)  # the same query string, cached counts in place
    assert client.get("/leads/?status=OPEN").context["status_counts"]["OPEN"] == 7
    assert client.get("/leads/?status=OPEN").context["table"].paginator.count == 7


def test_a_renamed_bot_is_shown_at_once_in_rows_rendered_before(agent_client, bots):
    assert 'c-bot">WhatsApp<' in agent_client.get("/leads/").content.decode()
    bots["whatsapp"].name = "WhatsApp Business"
    bots["whatsapp"].save()
    page = agent_client.get("/leads/").content.decode()
    assert page.count('c-bot">WhatsApp Business<') == 2


def test_a_bot_name_is_escaped_in_the_switcher_and_the_rows(agent_client, bots):
    bots["whatsapp"].name = "<b>WA</b>"
    bots["whatsapp"].save()
    page = agent_client.get("/leads/").content.decode()
    assert "<b>WA</b>" not in page and "&lt;b&gt;WA&lt;/b&gt;" in page


def test_the_list_reads_a_fixed_number_of_queries_with_several_bots(
    agent_client, bots, django_assert_max_num_queries
):
    agent_client.get("/leads/")
    # the session, the user, their bots, the rows (counts, switcher counts and last sync cached)
    with django_assert_max_num_queries(4):
        assert agent_client.get("/leads/").status_code == 200
