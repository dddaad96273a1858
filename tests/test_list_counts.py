"""The list's "N matching" and its status tabs: one count read for both (the matching count is
taken from the tabs' counts when the status filter is the only difference), always the number
of rows the filter shows, and up to date after an edit."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Lead
from leads.selectors.counting import bump_mirror_version
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

SIX = "status=OPEN&status=INPROGRESS&status=REVIEW&status=ONHOLD&status=DEPENDANCY&status=CLOSED"


def rows(html: str) -> int:
    return len(re.findall(r'<tr data-uuid="', html))


def matching(html: str) -> int:
    return int(re.search(r'id="match-count">([\d,]+) matching', html).group(1).replace(",", ""))


@pytest.fixture
def mirror():
    statuses = ["OPEN", "OPEN", "REVIEW", "CLOSED", "", "ONHOLD", "ODD-ONE"]
    for n, status in enumerate(statuses):
        make_lead(n, status=status, tags=["hot"] if n % 2 else [])
    make_lead(20, status="OPEN", is_lead=False)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "status=OPEN",
        "status=OPEN&status=CLOSED",
        "status=OPEN&status=OPEN",
        SIX,
        "status=NOPE",
        "status=OPEN&status=NOPE",
        "status=",
        "q=person",
        "q=Person 2",
        "tag=hot&status=OPEN&status=REVIEW",
        "status_not=OPEN",
        "type=non-lead&status=OPEN",
        "created_after=not-a-date&status=OPEN",
        "created_after=not-a-date",
        "q=person&updated_within=x",
        "q=person 1&sort=name",
    ],
)
def test_the_matching_count_is_the_number_of_rows_shown(agent_client, mirror, query):
    for attempt in ("uncached", "cached"):
        html = agent_client.get(f"/leads/?per_page=100&{query}").content.decode()
        assert matching(html) == rows(html), (query, attempt)


def test_a_lead_with_no_status_or_an_unknown_one_is_in_all_but_in_no_status(agent_client, mirror):
    assert matching(agent_client.get("/leads/").content.decode()) == 7
    assert matching(agent_client.get(f"/leads/?{SIX}").content.decode()) == 5


def aggregates(ctx) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]


def test_after_an_edit_one_count_serves_the_tabs_and_the_matching_count(agent_client, mirror):
    agent_client.get("/leads/?tag=hot")  # the session, the frame's cached reads
    bump_mirror_version()  # as every edit does: the counts are read again
    with CaptureQueriesContext(connection) as ctx:
        agent_client.get("/leads/?tag=hot&status=OPEN&status=REVIEW")
    assert len(aggregates(ctx)) == 1, aggregates(ctx)


def test_a_new_filters_count_is_read_even_when_the_tabs_counts_are_cached(agent_client, mirror):
    """Cached tab counts may be older than the rows (an edit in another process, which the
    per-process cache does not hear of): a count cached anew is read from the database."""
    agent_client.get("/leads/")
    Lead.objects.filter(status="OPEN").update(status="CLOSED")  # no bump: another process
    html = agent_client.get("/leads/?status=CLOSED").content.decode()
    assert matching(html) == rows(html) == 3


@pytest.mark.django_db(transaction=True)
def test_the_counts_follow_an_edit(agent_client, botpenguin):
    leads = [make_lead(n, sandbox=botpenguin.sandbox, status="OPEN") for n in range(3)]
    query = "/leads/?status=OPEN&status=REVIEW"
    before = agent_client.get(query).content.decode()
    assert matching(before) == 3
    agent_client.post(
        f"/leads/{leads[0].uuid}/row-status/",
        {"status": "CLOSED", "version": leads[0].version},
        headers={"HX-Request": "true"},
    )
    after = agent_client.get(query).content.decode()
    assert matching(after) == rows(after) == 2
    closed = agent_client.get("/leads/?status=CLOSED").content.decode()
    assert matching(closed) == rows(closed) == 1
