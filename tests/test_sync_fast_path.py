"""The sync's write path: unchanged chats not rewritten, tags kept when unchanged, pending fields
never overwritten, the stored raw record and its hash, NULs, several batches, an outer transaction.
Runs on SQLite and PostgreSQL."""

import copy
from datetime import timedelta

import pytest
from django.db import transaction

from leads import services
from leads.models import Lead, LeadTag
from leads.sync.run import sync_leads
from tests.factories import CHAT_BASE, ScriptedClient, iso_ms, make_chat

# --- writing -------------------------------------------------------------------------------------


def _add(sandbox, chats, *, is_lead=True):
    for chat in chats:
        sandbox.sandbox.add_chat(copy.deepcopy(chat), is_lead=is_lead)


def _changed(chat: dict, minutes: int, **details) -> dict:
    chat = copy.deepcopy(chat)
    chat["profile"]["userDetails"].update(details)
    chat["updatedAt"] = iso_ms(CHAT_BASE + timedelta(days=1, minutes=minutes))
    return chat


def _state(uuid: str) -> tuple:
    lead = Lead.objects.get(uuid=uuid)
    tag_ids = sorted(LeadTag.objects.filter(lead=lead).values_list("id", flat=True))
    return lead, tag_ids


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_an_unchanged_chat_is_not_rewritten_and_a_changed_one_is(botpenguin):
    chats = [make_chat(i, tags=("demo", "hot")) for i in range(3)]
    _add(botpenguin, chats)
    first = sync_leads(full=True)
    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    before = {c["uuid"]: _state(c["uuid"]) for c in chats}

    # One chat renamed at BotPenguin (same tags), one with new tags, one untouched.
    _add(botpenguin, [_changed(chats[0], 1, name="Renamed")])
    _add(botpenguin, [_changed(chats[1], 2, tags=["vip"])])
    second = sync_leads(full=True)

    assert (second.created, second.updated, second.unchanged) == (0, 2, 1)
    renamed, renamed_tags = _state(chats[0]["uuid"])
    retagged, retagged_tags = _state(chats[1]["uuid"])
    untouched, untouched_tags = _state(chats[2]["uuid"])
    old = {uuid: lead for uuid, (lead, _) in before.items()}

    assert renamed.name == "Renamed" and renamed.version == old[renamed.uuid].version + 1
    assert renamed.raw_hash != old[renamed.uuid].raw_hash
    assert renamed_tags == before[renamed.uuid][1]  # same tags: the rows are kept as they were
    assert retagged.tags == ["vip"] and retagged.version == old[retagged.uuid].version + 1
    assert list(LeadTag.objects.filter(lead=retagged).values_list("key", flat=True)) == ["vip"]
    assert retagged_tags != before[retagged.uuid][1]
    # Unchanged: not written (same version and hash, same tag rows), only seen by this sync.
    assert untouched.version == old[untouched.uuid].version
    assert untouched.raw_hash == old[untouched.uuid].raw_hash
    assert untouched_tags == before[untouched.uuid][1]
    assert untouched.synced_at > old[untouched.uuid].synced_at
    assert untouched.missing_since is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_the_stored_raw_record_is_the_chat_as_listed_and_its_hash_is_stable(botpenguin):
    chat = make_chat(5)
    chat["profile"]["userDetails"]["name"] = 'Zoë \u202e 王伟 \\u0000 "quoted"'
    chat["unknownKey"] = {"nested": [1, 2.5, None, True]}
    _add(botpenguin, [chat])

    sync_leads()
    lead = Lead.objects.get()
    assert lead.raw == chat
    again = sync_leads(full=True)

    assert (again.updated, again.unchanged) == (0, 1)
    assert Lead.objects.get().raw_hash == lead.raw_hash


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_pending_fields_are_not_overwritten_on_the_fast_path(botpenguin, user):
    chats = [make_chat(i, tags=("demo",)) for i in range(4)]
    _add(botpenguin, chats)
    sync_leads()
    lead = Lead.objects.get(uuid=chats[0]["uuid"])
    botpenguin.sandbox.fail_puts = True
    services.lead_set_status(lead=lead, status="CLOSED", user=user)
    services.lead_add_tag(lead=Lead.objects.get(pk=lead.pk), tag="vip", user=user)
    held = Lead.objects.get(pk=lead.pk)
    assert sorted(held.pending_fields) == ["status", "tags"]

    # BotPenguin meanwhile changes the name, the status and the tags of that chat.
    changed = _changed(chats[0], 5, name="Renamed at BotPenguin", tags=["cold"])
    changed["status"] = "REVIEW"
    _add(botpenguin, [changed])
    run = sync_leads(full=True)

    lead = Lead.objects.get(pk=lead.pk)
    assert run.updated == 1 and run.unchanged == 3
    assert lead.name == "Renamed at BotPenguin"  # not pending: brought in line
    assert lead.status == "CLOSED" and lead.tags == ["demo", "vip"]  # pending: kept
    assert sorted(LeadTag.objects.filter(lead=lead).values_list("key", flat=True)) == [
        "demo",
        "vip",
    ]
    assert sorted(lead.pending_fields) == ["status", "tags"] and lead.change_state == "pending"
    assert lead.raw["status"] == "REVIEW"  # the raw record is BotPenguin's


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_a_sync_inside_an_outer_transaction_can_run_twice(botpenguin):
    """Inside an outer transaction nothing commits between the batches of two syncs: each still
    writes exactly what it lists."""
    first = ScriptedClient({"lead": [[make_chat(1), make_chat(2)]]})
    second = ScriptedClient({"lead": [[make_chat(1), make_chat(3, status="CLOSED")]]})

    with transaction.atomic():
        sync_leads(kinds=["lead"], client=first)
        run = sync_leads(kinds=["lead"], client=second)

    assert (run.created, run.unchanged) == (1, 1)
    assert Lead.objects.count() == 3
    assert Lead.objects.get(uuid=make_chat(3)["uuid"]).status == "CLOSED"


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_many_chats_over_several_batches_each_written_once(botpenguin, monkeypatch):
    monkeypatch.setattr("leads.sync.run.BATCH_SIZE", {"sqlite": 7, "postgresql": 7})
    chats = [make_chat(i, tags=("demo", f"t{i % 3}")) for i in range(45)]
    _add(botpenguin, chats[:30])
    _add(botpenguin, chats[30:], is_lead=False)

    run = sync_leads(full=True, concurrency=3)

    assert run.created == 45 and Lead.objects.count() == 45
    assert Lead.objects.filter(is_lead=False).count() == 15
    assert LeadTag.objects.count() == 90
    for chat in chats[::9]:
        lead = Lead.objects.get(uuid=chat["uuid"])
        assert lead.raw == chat and lead.version == 1
        assert lead.remote_updated_at is not None and lead.remote_updated_at.tzinfo is not None


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_nul_characters_are_dropped_from_the_stored_raw_record(botpenguin):
    chat = make_chat(6)
    chat["profile"]["userDetails"]["name"] = "A\x00B \\u0000 \\\x00"
    _add(botpenguin, [chat])

    run = sync_leads()

    lead = Lead.objects.get()
    assert run.created == 1
    assert lead.raw["profile"]["userDetails"]["name"] == "AB \\u0000 \\"
    assert lead.name == "AB \\u0000 \\"


def _found(q: str) -> set[str]:
    from leads.selectors.filters import LeadFilter

    return set(LeadFilter({"q": q}, queryset=Lead.objects.all()).qs.values_list("uuid", flat=True))


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_the_search_index_follows_a_rename_and_other_changes_keep_it(botpenguin):
    chats = [make_chat(i) for i in range(2)]
    chats[0]["profile"]["userDetails"]["name"] = "Meera Iyer"
    chats[1]["profile"]["userDetails"]["name"] = "Arjun Sharma"
    _add(botpenguin, chats)
    sync_leads()
    assert _found("Meera") == {chats[0]["uuid"]}

    renamed = _changed(chats[0], 1, name="Priya Patel")
    other = copy.deepcopy(chats[1])  # a change that leaves name, email and phone alone
    other["lastMessage"] = {"at": other["updatedAt"], "by": "user", "text": "Hello again"}
    other["updatedAt"] = iso_ms(CHAT_BASE + timedelta(days=1, minutes=2))
    _add(botpenguin, [renamed, other])
    run = sync_leads()

    assert run.updated == 2
    assert _found("Meera") == set()
    assert _found("Priya") == {chats[0]["uuid"]}
    assert _found("Arjun") == {chats[1]["uuid"]}
    assert _found("example.org") == {chats[0]["uuid"], chats[1]["uuid"]}


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_a_sync_leaves_the_sqlite_checkpoint_setting_as_it_found_it(botpenguin):
    from django.db import connection

    from leads.botpenguin.errors import Unavailable
    from leads.sync.run import SyncError

    if connection.vendor != "sqlite":
        pytest.skip("a SQLite setting")

    def setting() -> int:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint")
            return cursor.fetchone()[0]

    before = setting()
    _add(botpenguin, [make_chat(1)])
    sync_leads()
    assert setting() == before
    with pytest.raises(SyncError):
        sync_leads(kinds=["lead"], client=ScriptedClient({"lead": [Unavailable("down")]}))
    assert setting() == before
