"""addbot, bots, rotate_bot_tokens, sync_leads --bot and createagent --bot, as a person runs
them: the token never on the command line and never printed."""

import io

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tasks_db.models import DBTaskResult

from leads import services
from leads.bots.config import credentials
from leads.management.commands.addbot import Command as AddBot
from leads.models import Bot, LeadChange, PasswordChangeRequired, SyncRun
from leads.services.syncing import sync_start_bots
from leads.sync.errors import SyncBusy
from leads.sync.lease import take_sync_lease
from tests.factories import env_bot, fill, make_lead

pytestmark = pytest.mark.django_db

TOKEN = "tok-SHOP-commands-93f1e0"


def addbot(*args, stdin: str = "", **options) -> str:
    out = io.StringIO()
    call_command("addbot", *args, stdin=io.StringIO(stdin), stdout=out, **options)
    return out.getvalue()


@pytest.fixture(autouse=True)
def _no_token_in_environment(monkeypatch):
    monkeypatch.delenv("BOTPENGUIN_API_TOKEN", raising=False)


def test_addbot_reads_the_token_from_stdin_and_stores_it_encrypted():
    out = addbot("Shop", "--bot-id", "b-1", "--customer-id", "c-1", stdin=TOKEN + "\n")
    bot = Bot.objects.get(name="Shop")
    assert (bot.remote_bot_id, bot.customer_id, bot.active) == ("b-1", "c-1", True)
    assert bot.api_url == "https://api.v7.botpenguin.com"
    assert bot.reveal_token() == TOKEN and TOKEN not in bot.token_encrypted
    assert "Added bot 'Shop'" in out and TOKEN not in out and TOKEN[-4:] not in out


def test_addbot_prefers_the_environment_variable(monkeypatch):
    monkeypatch.setenv("BOTPENGUIN_API_TOKEN", TOKEN)
    addbot("Shop", "--bot-id", "b-1", "--customer-id", "c-1", stdin="typed-token\n")
    assert Bot.objects.get(name="Shop").reveal_token() == TOKEN


def test_addbot_takes_no_token_argument():
    parser = AddBot().create_parser("manage.py", "addbot")
    assert not [s for a in parser._actions for s in a.option_strings if "token" in s.lower()]
    with pytest.raises(CommandError, match="unrecognized arguments"):
        addbot("Shop", "--bot-id", "b", "--customer-id", "c", "--token", TOKEN)
    assert not Bot.objects.exists()


def test_addbot_again_updates_the_bot_and_keeps_the_token_unless_given():
    addbot("Shop", "--bot-id", "b-1", "--customer-id", "c-1", stdin=TOKEN)
    out = addbot("Shop", "--customer-id", "c-2", "--api-url", "http://127.0.0.1:9/")
    bot = Bot.objects.get(name="Shop")
    assert (bot.customer_id, bot.api_url, bot.reveal_token()) == (
        "c-2",
        "http://127.0.0.1:9/",
        TOKEN,
    )
    assert out == "Updated bot 'Shop': Customer ID, API URL.\n"
    out = addbot("Shop", stdin="tok-new-5555\n")
    assert Bot.objects.get(name="Shop").reveal_token() == "tok-new-5555"
    assert "API token" in out and "5555" not in out
    assert "unchanged" in addbot("Shop", stdin="tok-new-5555\n")
    assert Bot.objects.count() == 1


@pytest.mark.parametrize(
    ("args", "stdin", "reason"),
    [
        (("--bot-id", "b"), TOKEN, "needs --customer-id"),
        (("--bot-id", "b", "--customer-id", "c"), "", "needs its API token"),
        (("--bot-id", "b", "--customer-id", "c", "--api-url", "javascript:x"), TOKEN, "http"),
    ],
)
def test_addbot_refuses_an_incomplete_bot(args, stdin, reason):
    with pytest.raises(CommandError, match=reason):
        addbot("Shop", *args, stdin=stdin)
    assert not Bot.objects.exists()


def test_addbot_leaves_the_environments_bot_to_the_environment():
    env_bot()
    with pytest.raises(CommandError, match="environment"):
        addbot("BotPenguin", "--bot-id", "x", stdin=TOKEN)


def test_bots_lists_each_bot_with_its_last_sync_and_counts_never_its_token():
    addbot("Shop", "--bot-id", "b-1", "--customer-id", "c-1", stdin=TOKEN)
    shop = Bot.objects.get(name="Shop")
    make_lead(1, bot=shop)
    make_lead(2, bot=shop, is_lead=False)
    lead = make_lead(3, bot=shop)
    LeadChange.objects.create(lead=lead, after={"status": "CLOSED"}, state="failed")
    SyncRun.objects.create(bot=shop, state="failed", error="HTTP 401")
    Bot.objects.create(
        name="Old", api_url="http://x", remote_bot_id="o", customer_id="o", active=False
    )
    out = io.StringIO()
    call_command("bots", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Old (inactive) Bot ID o: never synced; 0 leads")
    assert lines[1].startswith("Shop (active) Bot ID b-1: last sync failed ")
    assert lines[1].endswith("2 leads, 1 other chats, 0 pending and 1 failed edits")
    assert TOKEN not in out.getvalue() and TOKEN[-4:] not in out.getvalue()


def test_rotate_keeps_every_token_usable_under_the_new_key_alone(settings):
    old = settings.BOTPANEL_ENCRYPTION_KEYS[0]
    addbot("Shop", "--bot-id", "b-1", "--customer-id", "c-1", stdin=TOKEN)
    new = Fernet.generate_key().decode()
    settings.BOTPANEL_ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("rotate_bot_tokens", stdout=out)
    assert "Re-encrypted 1 token(s)" in out.getvalue()
    settings.BOTPANEL_ENCRYPTION_KEYS = [new]
    assert credentials(Bot.objects.get(name="Shop")).token == TOKEN


def test_rotate_names_a_bot_whose_token_no_key_reads(settings):
    addbot("Shop", "--bot-id", "b-1", "--customer-id", "c-1", stdin=TOKEN)
    settings.BOTPANEL_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="Shop"):
        call_command("rotate_bot_tokens", stdout=io.StringIO())


def test_sync_leads_bot_syncs_only_the_bot_named(botpenguin):
    fill(botpenguin, 4)
    other = Bot.objects.create(
        name="Other", api_url="http://127.0.0.1:9", remote_bot_id="o", customer_id="o"
    )
    other.set_token("tok-other")
    other.save()
    out = io.StringIO()
    call_command("sync_leads", "--bot", "BotPenguin", "--no-progress", stdout=out)
    assert out.getvalue().startswith("Sync done: ")
    assert env_bot().leads.count() == 4 and not other.leads.exists()
    assert not SyncRun.objects.filter(bot=other).exists()
    with pytest.raises(CommandError, match="No bot is named 'Nope'"):
        call_command("sync_leads", "--bot", "Nope", "--no-progress")


def test_createagent_makes_them_a_member_of_the_bots_named():
    for name in ("Website", "WhatsApp", "Shop"):
        Bot.objects.create(name=name, api_url="http://x", remote_bot_id=name, customer_id="c")
    out = io.StringIO()
    call_command("createagent", "asha", "--bot", "Website", "--bot", "Shop", stdout=out)
    asha = get_user_model().objects.get(username="asha")
    assert sorted(asha.bots.values_list("name", flat=True)) == ["Shop", "Website"]
    assert "Member of: Website, Shop." in out.getvalue()
    call_command("createagent", "asha", "--bot", "WhatsApp", stdout=io.StringIO())
    assert asha.bots.count() == 3  # added to, never taken away


def test_createagent_refuses_an_unknown_bot_before_creating_anyone():
    Bot.objects.create(name="Website", api_url="http://x", remote_bot_id="w", customer_id="c")
    with pytest.raises(CommandError, match="Unknown bot 'Webshop'. Bots: Website"):
        call_command("createagent", "asha", "--bot", "Webshop")
    assert not get_user_model().objects.filter(username="asha").exists()


def test_sync_now_queues_one_run_per_active_bot_and_names_a_busy_one(
    botpenguin, admin_user, django_capture_on_commit_callbacks
):
    website = env_bot()
    shop = Bot.objects.create(name="Shop", api_url="http://x", remote_bot_id="s", customer_id="c")
    Bot.objects.create(
        name="Off", api_url="http://x", remote_bot_id="o", customer_id="c", active=False
    )
    take_sync_lease(bot_id=shop.pk, holder="the sync_leads command (process 7)")

    with django_capture_on_commit_callbacks(execute=True):
        started = sync_start_bots(user=admin_user)
    assert [run.bot for run in started.runs] == [website]
    assert list(started.busy) == ["Shop"] and "process 7" in started.busy["Shop"]
    assert DBTaskResult.objects.count() == 1
    # Every bot busy now: Sync now is refused, naming who holds each.
    with pytest.raises(SyncBusy, match=r"BotPenguin: a sync is already running .*; Shop: "):
        services.sync_start(user=admin_user)


def test_demo_user_makes_a_team_per_bot_and_says_who_sees_what(settings, tmp_path):
    settings.BASE_DIR = tmp_path
    for name in ("Website", "WhatsApp"):
        Bot.objects.create(name=name, api_url="http://x", remote_bot_id=name, customer_id="c")
    out = io.StringIO()
    call_command("demo_user", stdout=out)
    password = (tmp_path / "var" / "demo-password").read_text().strip()
    assert f"agent-website / {password}  (Agent; sees Website only)" in out.getvalue()
    assert f"agent-whatsapp / {password}  (Agent; sees WhatsApp only)" in out.getvalue()
    assert f"leadadmin / {password}  (Lead admin; sees Website and WhatsApp)" in out.getvalue()
    users = get_user_model().objects
    assert list(users.get(username="agent-website").bots.values_list("name", flat=True)) == [
        "Website"
    ]
    assert users.get(username="leadadmin").bots.count() == 2
    assert users.get(username="leadadmin").groups.filter(name="Lead admin").exists()


def test_sync_now_syncs_only_the_bots_the_person_sees(botpenguin, client):
    """A lead admin of one bot starts that bot's sync, not every team's."""
    website = env_bot()
    shop = Bot.objects.create(name="Shop", api_url="http://x", remote_bot_id="s", customer_id="c")
    call_command("createagent", "lena", "--admin", "--bot", "Shop", stdout=io.StringIO())
    PasswordChangeRequired.objects.filter(user__username="lena").delete()  # chosen already
    client.force_login(get_user_model().objects.get(username="lena"))

    client.post("/sync/now/")

    assert [run.bot for run in SyncRun.objects.all()] == [shop]
    assert not SyncRun.objects.filter(bot=website).exists()


def test_demo_people_are_the_sandboxs_agents_so_names_show_and_assign_to_me_works(
    settings, tmp_path
):
    from leads.botpenguin.sandbox.seed import AGENTS
    from leads.selectors.people import agent_label

    settings.BASE_DIR = tmp_path
    for name in ("Website", "WhatsApp"):
        Bot.objects.create(name=name, api_url="http://x", remote_bot_id=name, customer_id="c")
    call_command("demo_user", stdout=io.StringIO())
    call_command("demo_user", stdout=io.StringIO())  # make run again: the same links

    linked = dict(
        get_user_model()
        .objects.filter(agent_profile__agent_id__gt="")
        .values_list("username", "agent_profile__agent_id")
    )
    assert linked == {
        "agent": AGENTS[0],
        "leadadmin": AGENTS[1],
        "agent-website": AGENTS[2],  # the bots in name order
        "agent-whatsapp": AGENTS[3],
    }
    assert agent_label(AGENTS[0]).text == "Demo agent"
