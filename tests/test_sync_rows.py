"""A listing page turned into rows (no database), and hostile values through a whole sync on SQLite
and PostgreSQL: what the database holds is what BotPenguin sent, minus NULs."""

import copy
import json

import pytest

from leads.botpenguin.records import repaired
from leads.models import Lead, LeadTag
from leads.sync.rows import build_page, raw_record
from leads.sync.run import sync_leads
from tests.factories import make_chat

HOSTILE = [
    "tab\there",
    "new\nline",
    "carriage\rreturn",
    "back\\slash \\N \\t",
    "\\N",
    "Zoë \u202e 王伟 'quoted' \"double\"",
]


def _hostile_chats(count: int) -> list[dict]:
    chats = []
    for i in range(count):
        chat = make_chat(i, tags=("demo", f"t{i % 3}", HOSTILE[i % len(HOSTILE)]))
        chat["profile"]["userDetails"]["name"] = f"{HOSTILE[i % len(HOSTILE)]} {i}"
        chat["profile"]["userDetails"]["contact"]["email"] = f"a\\b\t{i}@example.org"
        chats.append(chat)
    return chats


# --- rows (no database) --------------------------------------------------------------------------


def test_a_page_is_its_chats_as_rows_and_what_is_not_a_chat_is_skipped():
    too_long = make_chat(9)
    too_long["uuid"] = "u" * 300
    chats = [make_chat(1), "not a chat", {"no": "uuid"}, None, 42, too_long, make_chat(2)]

    page = build_page(json.loads(json.dumps(chats)), is_lead=False)

    assert (page.listed, page.skipped) == (7, 5)
    assert [row.uuid for row in page.rows] == [make_chat(1)["uuid"], make_chat(2)["uuid"]]
    row = page.rows[0]
    assert row.fields["name"] == "Person 1" and row.fields["is_lead"] is False
    assert row.fields["tags"] == ["demo"] and row.updated_at.isoformat().startswith("2026-10-01")
    assert json.loads(row.raw) == make_chat(1)


def test_the_hash_follows_the_chat_and_its_kind():
    chat = make_chat(3)
    _, text, as_lead = raw_record(copy.deepcopy(chat), is_lead=True)
    _, _, again = raw_record(json.loads(text), is_lead=True)
    _, _, as_non_lead = raw_record(copy.deepcopy(chat), is_lead=False)
    chat["status"] = "CLOSED"
    _, _, changed = raw_record(chat, is_lead=True)

    assert as_lead == again
    assert len({as_lead, as_non_lead, changed}) == 3


def test_nuls_are_taken_out_of_every_string_keys_included():
    chat = {
        "uuid": "u\x001",
        "na\x00me": ["a\x00b", {"de\x00ep": "\x00", "n": 1.5, "t": True, "z": None}],
        "escaped": "\\u0000 stays",
    }

    stored, text, _ = raw_record(chat, is_lead=True)

    expected = {
        "uuid": "u1",
        "name": ["ab", {"deep": "", "n": 1.5, "t": True, "z": None}],
        "escaped": "\\u0000 stays",
    }
    assert stored == expected and json.loads(text) == expected
    assert "\\u0000 stays" in text and "\x00" not in text


def test_nuls_are_taken_out_at_any_depth_json_allows():
    deep: object = "bottom\x00"
    for _ in range(1000):  # orjson decodes up to 1024 levels; Python recurses up to 1000
        deep = {"k\x00": [deep]}
    cleaned = repaired(deep)
    for _ in range(1000):
        cleaned = cleaned["k"][0]
    assert cleaned == "bottom"


# --- through a sync ------------------------------------------------------------------------------


def _snapshot() -> dict:
    fields = [
        f.attname
        for f in Lead._meta.concrete_fields
        if f.attname not in ("id", "synced_at", "missing_since")
    ]
    leads = {row["uuid"]: row for row in Lead.objects.values(*fields)}
    tags = sorted(LeadTag.objects.values_list("lead__uuid", "name", "key"))
    return {"leads": leads, "tags": tags}


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_hostile_values_are_stored_as_sent_and_a_second_sync_changes_nothing(botpenguin):
    chats = _hostile_chats(45)  # three pages of 20
    broken = make_chat(99)
    broken["uuid"] = "u" * 300  # longer than the column: skipped
    for chat in [*chats, broken]:
        botpenguin.sandbox.add_chat(copy.deepcopy(chat), is_lead=True)

    first = sync_leads(full=True, kinds=["lead"])
    stored = _snapshot()
    again = sync_leads(full=True, kinds=["lead"])

    assert (first.created, first.skipped) == (45, 1)
    assert (again.created, again.updated, again.unchanged, again.skipped) == (0, 0, 45, 1)
    assert _snapshot() == stored
    for chat in chats[:6]:
        lead = Lead.objects.get(uuid=chat["uuid"])
        assert lead.name == chat["profile"]["userDetails"]["name"]
        assert lead.email == chat["profile"]["userDetails"]["contact"]["email"]
        assert lead.raw == chat
        assert lead.tags == chat["profile"]["userDetails"]["tags"]
        assert sorted(LeadTag.objects.filter(lead=lead).values_list("name", flat=True)) == sorted(
            chat["profile"]["userDetails"]["tags"]
        )
