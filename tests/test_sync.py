"""The sync against the sandbox over real HTTP on a loopback port (and a scripted client for the
listing's odd cases). Runs on SQLite and PostgreSQL."""

import copy
import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.core.management import CommandError, call_command

from leads.botpenguin.errors import Unavailable
from leads.botpenguin.records import STATUSES
from leads.models import Lead, LeadTag, SyncRun
from leads.sync.run import last_mark, sync_leads
from tests.factories import (
    BOT_ID,
    CHAT_BASE,
    CUSTOMER_ID,
    EXAMPLE_CHAT,
    SANDBOX_TOKEN,
    ScriptedClient,
    fill,
    iso_ms,
    make_chat,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def list_gets(sandbox, kind: str | None = None) -> list:
    return [
        r
        for r in sandbox.sandbox.requests
        if r.method == "GET" and (kind is None or r.query.get("type") == kind)
    ]


def put_as_api(sandbox, body: dict) -> None:
    """Change a chat at BotPenguin, as another BotPenguin client would."""
    response = requests.put(
        f"{sandbox.url}/inbox/direct/lead",
        json={"botId": BOT_ID, "customerId": CUSTOMER_ID, **body},
        headers={"x-bp-token": SANDBOX_TOKEN},
        timeout=5,
    )
    assert response.status_code == 200, response.text


def test_documented_example_is_mirrored_with_every_field(botpenguin):
    botpenguin.sandbox.add_chat(copy.deepcopy(EXAMPLE_CHAT), is_lead=True)

    run = sync_leads()

    assert (run.state, run.created, run.pages) == ("succeeded", 1, 1)
    lead = Lead.objects.get()
    assert lead.bot.name == "BotPenguin" and lead.bot.from_environment
    assert (lead.bot.remote_bot_id, lead.bot.customer_id) == (BOT_ID, CUSTOMER_ID)
    assert lead.uuid == EXAMPLE_CHAT["uuid"]
    assert lead.remote_id == "64b0c0ffee0000000000abcd"
    assert lead.is_lead is True
    assert (lead.name, lead.email, lead.phone, lead.dial_code) == (
        "Meera Iyer",
        "meera@example.org",
        "9876543210",
        "+91",
    )
    assert lead.picture == "https://cdn.example.org/u/meera.png"
    assert lead.status == "INPROGRESS" and lead.status_label == "In progress"
    assert lead.agent_id == "64a1a9d0aa00000000000042"
    assert lead.tags == ["pricing", "hot"]
    assert sorted(LeadTag.objects.values_list("key", flat=True)) == ["hot", "pricing"]
    assert lead.notes == [
        {
            "id": "64b0c1000000000000000001",
            "title": "Pricing",
            "description": "Asked for the annual plan",
        }
    ]
    assert lead.attributes == [{"key": "plan", "value": "annual"}]
    assert (lead.city, lead.country, lead.gender) == ("Chennai", "India", "FEMALE")
    assert lead.last_message_at == datetime(2026, 10, 3, 11, 39, 58, tzinfo=UTC)
    assert (lead.last_message_by, lead.last_message_text) == (
        "bot",
        "Thanks! An agent will call you.",
    )
    assert lead.last_seen_at == datetime(2026, 10, 3, 11, 39, 58, tzinfo=UTC)
    assert (lead.is_online, lead.website_visits) == (False, 3)
    assert lead.remote_created_at == datetime(2026, 10, 2, 9, 14, 5, 120000, tzinfo=UTC)
    assert lead.remote_updated_at == datetime(2026, 10, 3, 11, 40, 0, 4000, tzinfo=UTC)
    assert (
        lead.raw["uuid"] == EXAMPLE_CHAT["uuid"] and lead.raw["profile"] == EXAMPLE_CHAT["profile"]
    )
    assert lead.synced_at is not None and lead.missing_since is None
    # The GET carried the documented header, and only that one.
    # Pages are fetched concurrently, so they may arrive in any order.
    get = next(r for r in list_gets(botpenguin) if r.query.get("page") == "1")
    assert get.headers["x-bot-token"] == SANDBOX_TOKEN and "x-bp-token" not in get.headers
    assert get.query == {"botId": BOT_ID, "customerId": CUSTOMER_ID, "page": "1", "type": "lead"}


def test_every_chat_of_both_kinds_is_mirrored_once_with_concurrency(botpenguin):
    fill(botpenguin, 73, is_lead=True)
    fill(botpenguin, 31, is_lead=False, start=1000)

    run = sync_leads(concurrency=4)

    assert run.state == "succeeded"
    assert (run.created, run.updated, run.unchanged, run.skipped) == (104, 0, 0, 0)
    assert Lead.objects.filter(is_lead=True).count() == 73
    assert Lead.objects.filter(is_lead=False).count() == 31
    assert Lead.objects.values("uuid").distinct().count() == 104
    # 4 + 2 pages with data, each listing ended by an empty page.
    assert run.pages == 6
    assert LeadTag.objects.filter(key="demo").count() == 104


def test_command_prints_a_summary_and_resync_is_idempotent(botpenguin, capsys):
    fill(botpenguin, 45)
    call_command("sync_leads")
    first = capsys.readouterr().out
    assert "45 created, 0 updated, 0 unchanged, 0 skipped" in first
    snapshot = list(Lead.objects.order_by("uuid").values())

    call_command("sync_leads", "--full")
    second = capsys.readouterr().out

    assert "0 created, 0 updated, 45 unchanged" in second
    after = list(Lead.objects.order_by("uuid").values())
    for row in snapshot + after:
        row.pop("synced_at")
    assert after == snapshot
    assert SyncRun.objects.filter(state="succeeded").count() == 2


def test_incremental_sync_picks_up_a_chat_changed_through_put_and_stops_early(botpenguin):
    botpenguin.sandbox.page_size = 10
    chats = fill(botpenguin, 100)
    sync_leads(kinds=["lead"])
    oldest = chats[0]["uuid"]
    assert Lead.objects.get(uuid=oldest).status == "OPEN"
    botpenguin.sandbox.clear_requests()

    put_as_api(botpenguin, {"uuid": oldest, "status": "CLOSED", "tags": ["won"]})
    run = sync_leads(kinds=["lead"])

    lead = Lead.objects.get(uuid=oldest)
    assert lead.status == "CLOSED" and lead.tags == ["won"]
    assert list(LeadTag.objects.filter(lead=lead).values_list("key", flat=True)) == ["won"]
    assert (run.created, run.updated) == (0, 1)
    # The changed chat is on page 1 now; page 1 also holds older chats, so page 2 (all older than
    # the mark) is the overlap and the sync stops there: not all 10 pages are read.
    pages_read = sorted(int(r.query["page"]) for r in list_gets(botpenguin))
    assert 1 in pages_read and 2 in pages_read
    assert run.pages <= 2
    # Pages asked for ahead: at most `concurrency` (4) beyond those read, on either database
    # (a full sync's prefetch of 32 pages on PostgreSQL had an incremental one ask for 25).
    assert len(pages_read) <= 4 + 2


def test_incremental_mark_advances_only_on_success(botpenguin):
    fill(botpenguin, 30)
    sync_leads(kinds=["lead"])
    mark = last_mark("lead")
    assert mark == CHAT_BASE + timedelta(minutes=29)

    botpenguin.sandbox.add_chat(make_chat(500), is_lead=True)
    botpenguin.sandbox.page_faults[2] = "500"
    with pytest.raises(CommandError, match="Sync failed"):
        call_command("sync_leads", "--type", "lead", "--full")
    assert last_mark("lead") == mark


def test_full_sync_marks_a_vanished_chat_missing_and_never_deletes_it(botpenguin):
    """A chat is flagged once two full listings in a row did not list it: one listing's absence
    can be a skip (see the next test)."""
    chats = fill(botpenguin, 25)
    sync_leads()
    gone = chats[3]["uuid"]
    botpenguin.sandbox.remove_chat(gone)

    first = sync_leads(full=True)  # the first full listing has none before it to confirm with
    assert first.marked_missing == 0
    assert not Lead.objects.filter(missing_since__isnull=False).exists()
    run = sync_leads(full=True)

    assert run.marked_missing == 1
    assert Lead.objects.count() == 25
    assert Lead.objects.get(uuid=gone).missing_since is not None
    assert Lead.objects.filter(missing_since__isnull=False).count() == 1
    # It comes back: the next full sync clears the flag.
    botpenguin.sandbox.add_chat(chats[3], is_lead=True)
    sync_leads(full=True)
    assert Lead.objects.get(uuid=gone).missing_since is None


class Skipping:
    """A client whose listings leave one chat out (the catch-up's too), as a listing that shifts
    between two pages fetched out of order does."""

    def __init__(self, client, uuid: str):
        self.client, self.uuid, self.skipped = client, uuid, False

    def list_chats(self, page, kind):
        chats = self.client.list_chats(page, kind)
        if any(chat.get("uuid") == self.uuid for chat in chats):
            chats = [chat for chat in chats if chat.get("uuid") != self.uuid]
            self.skipped = True
        return chats

    def close(self):
        self.client.close()


def test_a_chat_one_full_listing_skips_is_not_flagged_missing(botpenguin):
    """Seen under load: pages fetched several at a time, page 2 read before page 1, then an
    edit deeper down shifts the listing and page 1's last chat becomes page 2's first. The chat
    exists; the full listing before this one listed it, so it is not flagged; a chat that two
    full listings in a row did not list is."""
    from leads.bots.config import client_for
    from leads.models import Bot

    chats = fill(botpenguin, 45)
    sync_leads(full=True)
    skipped, gone = chats[19]["uuid"], chats[30]["uuid"]
    botpenguin.sandbox.remove_chat(gone)
    sync_leads(full=True)  # gone: absent once

    with client_for(Bot(from_environment=True)) as client:
        proxy = Skipping(client, skipped)
        run = sync_leads(full=True, kinds=["lead"], client=proxy)

    assert proxy.skipped
    assert run.marked_missing == 1
    assert Lead.objects.get(uuid=skipped).missing_since is None
    assert Lead.objects.get(uuid=gone).missing_since is not None
    # Skipped again by the next full listing, it is flagged then: absent twice in a row.
    with client_for(Bot(from_environment=True)) as client:
        sync_leads(full=True, kinds=["lead"], client=Skipping(client, skipped))
    assert Lead.objects.get(uuid=skipped).missing_since is not None


def _prepare_failure_case(botpenguin):
    """25 synced leads, one of which has since vanished at BotPenguin, and 60 new ones."""
    old = fill(botpenguin, 25)
    sync_leads(kinds=["lead"])
    botpenguin.sandbox.remove_chat(old[0]["uuid"])
    fill(botpenguin, 60, start=100)
    return SyncRun.objects.get(), last_mark("lead")


@pytest.mark.parametrize(
    ("fault", "message"),
    [("500", "unavailable"), ("non-json", "not JSON|JSON|malformed"), ("401", "token")],
)
def test_a_failure_on_page_3_keeps_whole_records_marks_nothing_and_keeps_the_mark(
    botpenguin, fault, message
):
    _, mark = _prepare_failure_case(botpenguin)
    botpenguin.sandbox.page_faults[3] = fault

    with pytest.raises(CommandError) as excinfo:
        call_command("sync_leads", "--type", "lead", "--full", "--concurrency", "1")

    text = str(excinfo.value)
    assert "\n" not in text and SANDBOX_TOKEN not in text
    assert re.search(message, text, flags=re.I)
    run = SyncRun.objects.order_by("-id").first()
    assert run.state == "failed" and run.error and run.marks == {}
    assert run.finished_at is not None
    # Nothing marked missing, the mark unchanged.
    assert not Lead.objects.filter(missing_since__isnull=False).exists()
    assert last_mark("lead") == mark
    # Every row in the mirror is whole: it matches the sandbox's chat field for field.
    for lead in Lead.objects.all():
        assert lead.name.startswith("Person ") and lead.email.endswith("@example.org")
        assert lead.status in STATUSES and lead.remote_updated_at is not None
        assert lead.raw_hash and lead.raw["uuid"] == lead.uuid
    # Pages 1-2 (40 newest chats) were written, nothing from page 3 on.
    assert Lead.objects.count() <= 25 + 40


def test_token_rejected_on_the_first_page(botpenguin):
    fill(botpenguin, 5)
    botpenguin.sandbox.token = "another-token"

    with pytest.raises(CommandError, match="token"):
        call_command("sync_leads")

    assert Lead.objects.count() == 0
    assert SyncRun.objects.get().state == "failed"


@pytest.mark.parametrize(
    "name",
    ["BOTPENGUIN_API_TOKEN", "BOTPENGUIN_BOT_ID", "BOTPENGUIN_CUSTOMER_ID", "BOTPENGUIN_API_URL"],
)
def test_missing_settings_give_one_clear_message(settings, name):
    settings.BOTPENGUIN_API_URL = "http://127.0.0.1:9"
    settings.BOTPENGUIN_API_TOKEN = "x"
    settings.BOTPENGUIN_BOT_ID = "b"
    settings.BOTPENGUIN_CUSTOMER_ID = "c"
    setattr(settings, name, "")

    with pytest.raises(CommandError) as excinfo:
        call_command("sync_leads")

    assert name in str(excinfo.value)
    assert SyncRun.objects.get().error.startswith(name)


def test_a_uuid_repeated_across_pages_is_one_row_with_the_newest_values(botpenguin):
    a_new = make_chat(1, status="CLOSED", minutes=50)
    a_old = make_chat(1, status="OPEN", minutes=10)
    client = ScriptedClient({"lead": [[a_new, make_chat(2)], [make_chat(3), a_old]]})

    run = sync_leads(kinds=["lead"], client=client)

    assert Lead.objects.count() == 3
    assert Lead.objects.get(uuid=a_new["uuid"]).status == "CLOSED"
    assert run.created == 3


def test_unparseable_chats_are_skipped_and_counted(botpenguin):
    client = ScriptedClient(
        {"lead": [[make_chat(1), "not a chat", {"no": "uuid"}, None, 42, make_chat(2)]]}
    )

    run = sync_leads(kinds=["lead"], client=client)

    assert (run.created, run.skipped, run.state) == (2, 4, "succeeded")


def test_hostile_values_are_stored_as_given_and_clipped_to_the_columns(botpenguin):
    chat = make_chat(7)
    chat["profile"]["userDetails"]["name"] = "<script>alert(1)</script>" + "x" * 3000
    chat["profile"]["userDetails"]["picture"] = "javascript:alert(1)"
    chat["profile"]["userDetails"]["tags"] = ['=HYPERLINK("http://evil.example")', "a" * 400]
    client = ScriptedClient({"lead": [[chat]]})

    sync_leads(kinds=["lead"], client=client)

    lead = Lead.objects.get()
    assert lead.name.startswith("<script>alert(1)</script>") and len(lead.name) <= 1000
    assert lead.picture == "javascript:alert(1)" and lead.picture_url == ""
    assert LeadTag.objects.filter(lead=lead).count() == 2


def test_characters_special_to_sql_copy_or_json_are_stored_exactly(botpenguin):
    """Backslashes, control characters, escapes and astral characters come back as they were
    sent, in plain and JSON columns alike, on insert and on update."""
    special = "back\\slash\\N tab\tnew\nline cr\r bs\b ff\f vt\v \\t «ünï» 😀 \\u0041"
    chat = make_chat(8)
    details = chat["profile"]["userDetails"]
    details["name"] = special
    details["contact"]["email"] = "\\N"
    details["tags"] = [special, "\\"]
    details["attributes"] = [{"key": special, "value": special}]
    chat["profile"]["notes"] = [{"_id": "n1", "title": special, "description": "\\"}]
    other = make_chat(9)
    other["profile"]["userDetails"]["name"] = special
    sync_leads(kinds=["lead"], client=ScriptedClient({"lead": [[chat, other]]}))

    lead = Lead.objects.get(uuid=chat["uuid"])
    assert lead.name == special and lead.email == "\\N"
    assert lead.tags == [special, "\\"]
    assert lead.attributes == [{"key": special, "value": special}]
    assert lead.notes[0]["title"] == special and lead.notes[0]["description"] == "\\"
    assert lead.raw["profile"]["userDetails"]["name"] == special
    assert sorted(LeadTag.objects.filter(lead=lead).values_list("name", flat=True)) == sorted(
        [special, "\\"]
    )
    assert Lead.objects.get(uuid=other["uuid"]).name == special
    # Changed at BotPenguin: the update path (rows made again by the writer) stores it too.
    chat["updatedAt"] = iso_ms(CHAT_BASE + timedelta(days=30))
    details["name"] = special + "\t2"
    sync_leads(kinds=["lead"], client=ScriptedClient({"lead": [[chat, other]]}))
    assert Lead.objects.get(uuid=chat["uuid"]).name == special + "\t2"


def test_an_error_after_some_pages_keeps_the_pages_before(botpenguin):
    client = ScriptedClient(
        {"lead": [[make_chat(1), make_chat(2)], Unavailable("BotPenguin is unavailable: HTTP 503")]}
    )

    with pytest.raises(Exception, match="unavailable"):
        sync_leads(kinds=["lead"], client=client, concurrency=1)

    assert Lead.objects.count() == 2


def test_a_chat_edited_during_a_full_listing_is_not_flagged_missing(botpenguin):
    """Edited while the listing is read, a chat jumps to page 1, behind the reader; the full
    sync's catch-up pass finds it there instead of flagging it missing."""
    from django.utils import timezone

    from leads.bots.config import client_for
    from leads.models import Bot

    chats = fill(botpenguin, 60)  # three pages of 20
    sync_leads()
    box = botpenguin.sandbox
    mover = box.chats(type="lead")[50]["uuid"]  # on page 3

    class EditedMeanwhile:
        def __init__(self, client):
            self.client = client
            self.moved = False

        def list_chats(self, page, kind):
            if page == 2 and not self.moved:  # page 1 is read; now someone edits the chat
                chat = copy.deepcopy(box.get_chat(mover))
                chat["status"] = "CLOSED"
                chat["updatedAt"] = timezone.now().isoformat().replace("+00:00", "Z")
                box.add_chat(chat, is_lead=True)
                self.moved = True
            return self.client.list_chats(page, kind)

        def close(self):
            self.client.close()

    with client_for(Bot(from_environment=True)) as client:
        proxy = EditedMeanwhile(client)
        run = sync_leads(full=True, kinds=["lead"], concurrency=1, client=proxy)
    assert proxy.moved
    assert run.marked_missing == 0
    assert not Lead.objects.filter(missing_since__isnull=False).exists()
    assert Lead.objects.get(uuid=mover).status == "CLOSED"  # and its edit is mirrored
    assert len(chats) == 60


def test_a_chat_botpenguin_accepted_an_edit_of_during_a_full_sync_is_not_marked_missing(
    botpenguin,
):
    """An edit moves its chat to the top of the listing, behind a reader that has passed it;
    the catch-up reads the top again, but a chat edited again while that is read jumps behind
    it too (seen under load: a dozen chats flagged missing per full sync). A chat BotPenguin
    accepted an edit of since the sync began exists, whether or not the listing showed it."""
    from leads import services

    botpenguin.sandbox.page_size = 10
    chats = fill(botpenguin, 40)
    sync_leads(kinds=["lead"])
    edited = Lead.objects.get(uuid=chats[0]["uuid"])
    gone = Lead.objects.get(uuid=chats[1]["uuid"])
    # Whatever the listing's reason, it shows neither chat in this sync; BotPenguin accepts
    # the edit (200) all the same.
    botpenguin.sandbox.remove_chat(edited.uuid)
    botpenguin.sandbox.remove_chat(gone.uuid)
    sync_leads(kinds=["lead"], full=True)  # absent once: both may be skips
    botpenguin.sandbox.ignore_puts = True
    calls = []

    def edit_while_reading(pages: int, read: int) -> None:
        calls.append(pages)
        if len(calls) == 1:
            services.lead_add_tag(lead=edited, tag="vip", user=None)

    run = sync_leads(kinds=["lead"], full=True, concurrency=1, progress=edit_while_reading)

    assert edited.changes.get().state == "delivered"
    assert Lead.objects.get(pk=edited.pk).missing_since is None
    assert Lead.objects.get(pk=gone.pk).missing_since is not None
    assert run.marked_missing == 1
