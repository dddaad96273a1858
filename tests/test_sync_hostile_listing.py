"""Listings that never end, against a hostile BotPenguin on a loopback port: a sync stops after
SYNC_MAX_PAGES pages, or at a page that repeats the one before (a server that ignores `page`),
with one line; the run is failed, the lease released, the incremental mark kept, nothing marked
missing and the rows already written kept. Runs on SQLite and PostgreSQL."""

import time
import tracemalloc

import pytest
from django.core.management import CommandError, call_command

from leads.models import Lead
from leads.sync.run import last_mark, sync_leads
from tests.factories import assert_sync_failed_with_one_line, make_chat, mirrored_uuids
from tests.hostile import ok

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


PAGE = 20


def page_of(page_no: int) -> list[dict]:
    return [make_chat(page_no * PAGE + i, minutes=-page_no) for i in range(PAGE)]


def mirror_one_chat_first(serve) -> tuple:
    """A successful full sync of one old chat: the mark, and a row a failed full sync must not
    mark missing."""
    serve({"lead": [[make_chat(10**6, minutes=-(10**5))]]})
    sync_leads(kinds=["lead"], full=True)
    Lead.objects.update(synced_at=None)  # so that a finished full sync would flag it
    return last_mark("lead")


def test_a_listing_that_never_ends_stops_at_sync_max_pages(serve, settings):
    mark = mirror_one_chat_first(serve)
    settings.SYNC_MAX_PAGES = 30
    server = serve({}, beyond=lambda kind, page: ok(page_of(page)))
    started = time.monotonic()
    tracemalloc.start()

    with pytest.raises(CommandError) as excinfo:
        call_command("sync_leads", "--type", "lead", "--full", "--no-progress")

    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert time.monotonic() - started < 30 and peak < 50 * 1024 * 1024
    run = assert_sync_failed_with_one_line(
        excinfo, "Sync failed: the lead listing did not end within 30 pages (SYNC_MAX_PAGES)"
    )
    assert run.pages == 30 and run.marks == {}
    assert last_mark("lead") == mark
    assert Lead.objects.filter(missing_since__isnull=False).count() == 0
    assert len(mirrored_uuids()) == 1 + 30 * PAGE  # the pages read are kept
    asked = {int(seen.query["page"][0]) for seen in server.requests}
    assert max(asked) <= 30 + 32 + 16  # the pages asked for ahead are bounded too


def test_a_server_that_ignores_the_page_number_fails_at_the_first_repeat(serve):
    mark = mirror_one_chat_first(serve)
    same = page_of(1)
    server = serve({}, beyond=lambda kind, page: ok(same))

    with pytest.raises(CommandError) as excinfo:
        call_command("sync_leads", "--type", "lead", "--full", "--no-progress")

    run = assert_sync_failed_with_one_line(
        excinfo,
        "Sync failed: page 2 of the lead listing repeats page 1 exactly "
        "(BotPenguin ignored the page number)",
    )
    assert run.marks == {} and last_mark("lead") == mark
    assert Lead.objects.filter(missing_since__isnull=False).count() == 0
    assert mirrored_uuids() == {make_chat(10**6)["uuid"]} | {chat["uuid"] for chat in same}
    assert len(server.requests) < 40


def test_a_listing_within_the_bound_and_pages_that_overlap_are_fine(serve, settings):
    """Consecutive pages sharing some uuids (the listing shifted) are not a repeat."""
    settings.SYNC_MAX_PAGES = 3
    first, second = page_of(1), page_of(2)
    serve({"lead": [first, first[-5:] + second[5:], second[:5]]})

    run = sync_leads(kinds=["lead"], full=True)

    assert (run.state, run.pages, run.created) == ("succeeded", 3, 2 * PAGE)
