"""Rows built for the sync: in worker processes as in the fetch threads, COPY text that
PostgreSQL reads back as the values sent, and a batch whose straight COPY meets a row created
meanwhile written again through the upsert. Runs on SQLite and PostgreSQL."""

import copy
import json
import logging
import os
import signal
import threading
import time
from datetime import UTC, datetime

import pytest
import responses
from django.db import connection

from leads.botpenguin.errors import MalformedResponse
from leads.models import Lead, LeadTag
from leads.sync import run as sync
from leads.sync.rows import RECORD_FIELDS, RowBuilderPool, RowSpec, build_listing, copy_line
from leads.sync.run import sync_leads
from tests.test_botpenguin_client import LIST_URL, make_client
from tests.test_sync import make_chat

HOSTILE = [
    "tab\there",
    "new\nline",
    "carriage\rreturn",
    "back\\slash \\N \\t",
    "\\N",
    "Zoë \u202e 王伟 'quoted' \"double\"",
]


def _chats(count: int) -> list[dict]:
    chats = []
    for i in range(count):
        chat = make_chat(i, tags=("demo", f"t{i % 3}", HOSTILE[i % len(HOSTILE)]))
        chat["profile"]["userDetails"]["name"] = f"{HOSTILE[i % len(HOSTILE)]} {i}"
        chat["profile"]["userDetails"]["contact"]["email"] = f"a\\b\t{i}@example.org"
        chats.append(chat)
    return chats


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
def test_rows_built_in_worker_processes_are_stored_as_rows_built_in_threads(
    botpenguin, settings, monkeypatch
):
    chats = _chats(45)  # three pages of 20
    broken = make_chat(99)
    broken["uuid"] = "u" * 300  # longer than the column: skipped, wherever built
    for chat in [*chats, broken]:
        botpenguin.sandbox.add_chat(copy.deepcopy(chat), is_lead=True)

    settings.SYNC_BUILD_PROCESSES = 0
    in_threads = sync_leads(full=True, kinds=["lead"])
    by_threads = _snapshot()
    Lead.objects.all().delete()

    built: list[tuple[int, bool]] = []  # (chats on the page, built in a worker process)
    here = threading.local()
    original = RowBuilderPool.build

    def build(self, spec, content):
        here.pooled = False
        body, page = original(self, spec, content)
        built.append((page.listed, here.pooled))
        return body, page

    ready_executor = RowBuilderPool._ready_executor

    def wait_until_started(self):
        # The pool builds in the calling thread while its workers start: wait for them here,
        # so that every page of this run is built in a worker process.
        deadline = time.monotonic() + 60
        while (executor := ready_executor(self)) is None:
            assert time.monotonic() < deadline, "the row builders did not start"
            time.sleep(0.02)
        here.pooled = True
        return executor

    monkeypatch.setattr(RowBuilderPool, "build", build)
    monkeypatch.setattr(RowBuilderPool, "_ready_executor", wait_until_started)
    monkeypatch.setattr(sync, "IN_THREAD_PAGES", 0)
    settings.SYNC_BUILD_PROCESSES = 2
    in_processes = sync_leads(full=True, kinds=["lead"])

    assert sorted(built)[-3:] == [(6, True), (20, True), (20, True)]
    assert all(pooled for _, pooled in built)
    assert (in_processes.created, in_processes.skipped) == (in_threads.created, 1) == (45, 1)
    assert _snapshot() == by_threads
    for chat in chats[:6]:
        lead = Lead.objects.get(uuid=chat["uuid"])
        assert lead.name == chat["profile"]["userDetails"]["name"]
        assert lead.email == chat["profile"]["userDetails"]["contact"]["email"]
        assert lead.raw == chat
        assert lead.tags == chat["profile"]["userDetails"]["tags"]


def _spec() -> RowSpec:
    return RowSpec(
        columns=["uuid", "raw", "raw_hash", *RECORD_FIELDS],
        defaults=[None] * (3 + len(RECORD_FIELDS)),
        is_lead=True,
        db_timezone=None,
        copy_lines=True,
        datetime_columns=frozenset({"last_message_at", "last_seen_at", "remote_created_at",
                                    "remote_updated_at"}),
    )  # fmt: skip


def _started(pool: RowBuilderPool):
    deadline = time.monotonic() + 60
    while (executor := pool._ready_executor()) is None:
        assert time.monotonic() < deadline, "the row builders did not start"
        time.sleep(0.02)
    return executor


def test_a_pool_still_starting_builds_in_the_calling_thread_then_in_its_workers():
    spec = _spec()
    content = json.dumps({"success": True, "data": [make_chat(1), make_chat(2)]}).encode()
    pool = RowBuilderPool(1)
    try:
        first_body, first = pool.build(spec, content)
        assert pool._usable is None  # its worker is still starting: built here
        _started(pool)
        body, page = pool.build(spec, content)  # in the worker process
    finally:
        pool.close()
    assert body == first_body == {"success": True, "data": []}
    assert page == first and [row.uuid for row in page.rows] == [
        make_chat(1)["uuid"],
        make_chat(2)["uuid"],
    ]
    assert page.rows[0].line == copy_line(page.rows[0].values)


def test_a_pool_whose_worker_died_builds_in_the_calling_thread(caplog):
    spec = _spec()
    content = json.dumps({"success": True, "data": [make_chat(3)]}).encode()
    pool = RowBuilderPool(1)
    try:
        executor = _started(pool)
        for process in list(executor._processes.values()):
            os.kill(process.pid, signal.SIGKILL)
            process.join(10)
        with caplog.at_level(logging.WARNING, logger="leads.sync_rows"):
            body, page = pool.build(spec, content)
    finally:
        pool.close()
    assert pool._usable is False and "rows built in threads" in caplog.text
    assert [row.uuid for row in page.rows] == [make_chat(3)["uuid"]]


def test_copy_text_escapes_what_copy_reads_as_syntax():
    when = datetime(2026, 12, 1, 9, 30, 5, 120000, tzinfo=UTC)
    line = copy_line([None, True, False, 42, "a\tb\nc\rd\\e", "\\N", when, "[]"])
    assert line == (
        "\\N\tt\tf\t42\ta\\tb\\nc\\rd\\\\e\t\\\\N\t2026-12-01T09:30:05.120000+00:00\t[]\n"
    )
    with pytest.raises(TypeError):
        copy_line([object()])


@pytest.mark.django_db
def test_copy_lines_read_back_by_postgresql_as_the_values_sent():
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    values = ["tab\there", "new\nline", "cr\rhere", "back\\slash", "\\N", "王伟 \u202e", "", None]
    when = datetime(2026, 12, 1, 9, 30, 5, 120000, tzinfo=UTC)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE copy_probe (t text, b boolean, n int, w timestamptz)"
        )
        with cursor.copy("COPY copy_probe (t, b, n, w) FROM STDIN") as copy_in:
            copy_in.write("".join(copy_line([v, v is None, i, when]) for i, v in enumerate(values)))
        cursor.execute("SELECT t, b, n, w FROM copy_probe ORDER BY n")
        rows = cursor.fetchall()
    assert [r[0] for r in rows] == values
    assert [r[1] for r in rows] == [v is None for v in values]
    assert {r[3] for r in rows} == {when}


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_a_batch_meeting_a_lead_created_meanwhile_is_written_again_by_upsert(
    botpenguin, monkeypatch, caplog
):
    if connection.vendor != "postgresql":
        pytest.skip("the straight COPY of new rows is PostgreSQL's")
    chats = _chats(30)
    for chat in chats:
        botpenguin.sandbox.add_chat(copy.deepcopy(chat), is_lead=True)
    original = sync._Writer._copy_new
    calls: list[int] = []

    def copy_new(self, rows):
        if not calls:
            # A lead with one of these uuids appears after the batch read the existing rows.
            Lead.objects.create(bot_id=self.bot_id, uuid=rows[0].uuid, name="created meanwhile")
        calls.append(len(rows))
        return original(self, rows)

    monkeypatch.setattr(sync._Writer, "_copy_new", copy_new)
    with caplog.at_level(logging.INFO, logger="leads.sync"):
        run = sync_leads(full=True, kinds=["lead"])

    assert calls == [30]  # the second attempt went through the upsert
    assert "written again by upsert" in caplog.text
    assert (run.created, run.updated) == (30, 0)
    assert Lead.objects.count() == 30 and LeadTag.objects.count() == 90
    first = Lead.objects.get(uuid=chats[0]["uuid"])
    assert first.name == chats[0]["profile"]["userDetails"]["name"] and first.version == 1


@responses.activate
def test_a_listing_decoder_that_refuses_the_body_is_a_malformed_response():
    responses.get(LIST_URL, body="<html>down for maintenance</html>", status=200)
    with make_client() as client, pytest.raises(MalformedResponse):
        client.list_chats_decoded(1, "lead", lambda content: build_listing(None, content))

    responses.get(LIST_URL, json={"success": True, "data": {"not": "a list"}}, status=200)
    with make_client() as client, pytest.raises(MalformedResponse):
        client.list_chats_decoded(1, "lead", lambda content: build_listing(None, content))
