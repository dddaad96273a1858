"""The sync against a hostile BotPenguin on a loopback port (tests/hostile.py): values a database
cannot hold, nesting, uuids that cleaning would merge, a uuid listed under both kinds, pages of
any size. Each case ends with a counted skip or one line, never a traceback, and the good chats
of the same page are mirrored. Runs on SQLite and PostgreSQL."""

import json
import sqlite3

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from leads.botpenguin.records import MAX_DEPTH
from leads.models import Lead
from leads.sync.errors import SyncError
from leads.sync.run import sync_leads
from tests.factories import (
    ScriptedClient,
    assert_sync_failed_with_one_line,
    iso_ms,
    make_chat,
    mirrored_uuids,
)
from tests.hostile import listing_body

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def nested(levels: int) -> str:
    """JSON text of `levels` nested objects (built as text: json.dumps recurses)."""
    return '{"k": ' * levels + '"bottom"' + "}" * levels


def deep_chat(n: int, depth: int) -> bytes:
    """make_chat(n) nested `depth` levels deep in all (the chat object is level 1)."""
    chat = make_chat(n)
    chat["profile"]["userDetails"]["deep"] = "PLACEHOLDER"  # level 4 onwards
    return json.dumps(chat).replace('"PLACEHOLDER"', nested(depth - 3)).encode()


# --- item 3: lone surrogates -----------------------------------------------------------------


SURROGATE_CHAT = {
    **make_chat(2),
    "lastMessage": {"text": "cut inside an emoji \ud83d", "by": "user\udc00"},
    "profile": {
        "notes": [{"title": "t\ud800", "description": "ok \U0001f600"}],
        "userDetails": {"name": "Zo\ud83d", "tags": ["hot\udfff"], "surr\ud800key": "v"},
    },
}


def check_surrogates_repaired() -> None:
    good, repaired = make_chat(1)["uuid"], SURROGATE_CHAT["uuid"]
    assert mirrored_uuids() == {good, repaired, make_chat(3)["uuid"]}
    lead = Lead.objects.get(uuid=repaired)
    assert lead.name == "Zo\ufffd" and lead.tags == ["hot\ufffd"]
    assert lead.last_message_text == "cut inside an emoji \ufffd"
    assert lead.notes[0]["title"] == "t\ufffd" and lead.notes[0]["description"] == "ok \U0001f600"
    assert lead.raw["profile"]["userDetails"]["surr\ufffdkey"] == "v"
    assert "\ud83d" not in json.dumps(lead.raw, ensure_ascii=False)


def test_lone_surrogates_are_stored_as_replacement_characters_and_the_page_is_kept(serve):
    """What the client hands over once it decodes such a page (see the test below)."""
    serve({})  # the account settings
    page = [make_chat(1), SURROGATE_CHAT, make_chat(3)]
    client = ScriptedClient({"lead": [page]})

    run = sync_leads(kinds=["lead"], client=client)

    assert (run.state, run.created, run.skipped) == ("succeeded", 3, 0)
    check_surrogates_repaired()
    assert sync_leads(kinds=["lead"], client=client).unchanged == 3  # and every later sync


def test_a_page_with_a_lone_surrogate_escape_is_mirrored_over_http(serve):
    serve({"lead": [[make_chat(1), SURROGATE_CHAT, make_chat(3)]]})

    run = sync_leads(kinds=["lead"])

    assert (run.state, run.created) == ("succeeded", 3)
    check_surrogates_repaired()


# --- item 4: nesting -------------------------------------------------------------------------


def test_a_chat_nested_past_the_limit_is_skipped_and_counted_and_its_page_kept(serve, caplog):
    at_limit, past, very_deep = (deep_chat(n, d) for n, d in ((1, MAX_DEPTH), (2, 65), (3, 950)))
    good = json.dumps(make_chat(4)).encode()
    serve({"lead": [listing_body(at_limit, past, good, very_deep)]})

    run = sync_leads(kinds=["lead"])

    assert (run.state, run.created, run.skipped) == ("succeeded", 2, 2)
    assert mirrored_uuids() == {make_chat(1)["uuid"], make_chat(4)["uuid"]}
    reasons = [r.getMessage() for r in caplog.records if "Skipped a chat" in r.getMessage()]
    assert reasons == [f"Skipped a chat: nested deeper than {MAX_DEPTH} levels"] * 2


def test_a_chat_at_the_limit_opens_everywhere_its_raw_record_is_shown(
    serve, staff_client, admin_user
):
    serve({"lead": [listing_body(deep_chat(1, MAX_DEPTH))]})
    sync_leads(kinds=["lead"])
    lead = Lead.objects.get()
    assert lead.raw["profile"]["userDetails"]["deep"]["k"]["k"]  # stored, and loads again

    for url in (
        f"/leads/{lead.uuid}/",
        "/leads/?_export=csv",
        "/admin/leads/lead/",
        f"/admin/leads/lead/{lead.pk}/change/",
    ):
        response = staff_client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response) if response.streaming else response.content
        assert b"Person 1" in body, url


def test_a_page_nested_deeper_than_any_decoder_reads_fails_the_sync_in_one_line(serve):
    serve({"lead": [listing_body(deep_chat(1, 1100))]})

    with pytest.raises(CommandError) as excinfo:
        call_command("sync_leads", "--type", "lead", "--no-progress")

    assert_sync_failed_with_one_line(excinfo, "Sync failed: the answer to GET is not JSON")


# --- item 9: uuids, both kinds, page sizes ------------------------------------------------------


def test_uuids_that_cleaning_would_merge_are_kept_apart_or_skipped(serve):
    chats = [
        {**make_chat(1), "uuid": "padded"},
        {**make_chat(2), "uuid": " padded "},
        {**make_chat(3), "uuid": "12345"},
        {**make_chat(4), "uuid": 12345},
        {**make_chat(5), "uuid": "nul"},
        {**make_chat(6), "uuid": "n\x00ul"},
    ]  # a uuid with a lone surrogate: test_botpenguin_records (the client refuses its page)
    serve({"lead": [chats]})

    run = sync_leads(kinds=["lead"])

    assert (run.state, run.created, run.skipped) == ("succeeded", 4, 2)
    names = dict(Lead.objects.values_list("uuid", "name"))
    assert names == {
        "padded": "Person 1",
        " padded ": "Person 2",
        "12345": "Person 3",
        "nul": "Person 5",
    }


@pytest.mark.parametrize("order", [("lead", "non-lead"), ("non-lead", "lead")])
@pytest.mark.parametrize("newer", ["lead", "non-lead"])
def test_a_uuid_listed_as_lead_and_non_lead_keeps_the_newer_version(serve, order, newer):
    old, new = make_chat(1, minutes=10), make_chat(1, minutes=20)
    new["profile"]["userDetails"]["name"] = "Newer"
    older = "non-lead" if newer == "lead" else "lead"
    serve({newer: [[new]], older: [[old]]})

    assert sync_leads(kinds=order).state == "succeeded"

    lead = Lead.objects.get()
    assert (lead.name, lead.is_lead) == ("Newer", newer == "lead")
    assert iso_ms(lead.remote_updated_at) == new["updatedAt"]


def test_a_page_of_any_size_is_written_under_the_sqlite_parameter_limit(serve):
    """SQLite builds before 3.32 allow 999 parameters a statement; a page of 1,300 chats."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    serve({"lead": [[make_chat(n) for n in range(1300)]]})

    run = sync_leads(kinds=["lead"])
    again = sync_leads(kinds=["lead"], full=True)

    assert (run.state, run.created, run.skipped) == ("succeeded", 1300, 0)
    assert (again.state, again.unchanged, again.marked_missing) == ("succeeded", 1300, 0)
    assert len(mirrored_uuids()) == 1300


def test_a_failing_sync_through_the_api_never_shows_a_traceback(serve):
    """The one-line failure reaches the command as well as the run."""
    serve({"lead": [listing_body(b"[" * 2000 + b"]" * 2000)]})
    with pytest.raises(SyncError) as excinfo:
        sync_leads(kinds=["lead"])
    assert_sync_failed_with_one_line(excinfo, "not JSON")
