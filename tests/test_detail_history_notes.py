"""A lead's page reads its history and its notes' authors in one query when the lead has at most
20 changes (most do): the same sentences and authors as reading them apart."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads import services
from leads.models import Lead, LeadChange
from leads.selectors.history import history_and_notes, lead_history, lead_notes
from tests.factories import make_lead

pytestmark = pytest.mark.django_db(transaction=True)


def fresh(lead: Lead) -> Lead:
    return Lead.objects.get(pk=lead.pk)


def apart(lead: Lead):
    return lead_history(lead=lead), lead_notes(lead=lead)


@pytest.mark.parametrize("edits", [0, 3, 19, 20, 21, 26])
def test_read_together_or_apart_the_history_and_the_notes_are_the_same(botpenguin, user, edits):
    lead = make_lead(
        1, sandbox=botpenguin.sandbox, notes=[{"id": "n1", "title": "Hi", "description": ""}]
    )
    services.lead_add_note(lead=lead, title="First", description="", user=user)  # oldest
    services.lead_add_note(lead=lead, title="Hi", description="", user=user)  # BotPenguin's first
    dropped = services.lead_add_note(lead=fresh(lead), title="Dropped", description="", user=user)
    LeadChange.objects.filter(pk=dropped.pk).update(state="discarded")
    for n in range(edits):
        services.lead_set_status(
            lead=fresh(lead), status="CLOSED" if n % 2 == 0 else "OPEN", user=user
        )
    lead = fresh(lead)
    together = history_and_notes(lead=lead)
    assert together == apart(lead)
    authors = {note.title: note.author for note in together[1]}
    assert authors["First"] == "Asha" and authors["Dropped"] == ""
    assert [n.author for n in together[1] if n.title == "Hi"] == ["Asha", ""]


def test_the_lead_page_reads_the_leads_changes_twice_history_with_notes_and_open_ones(
    botpenguin, agent_client, user
):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    services.lead_add_note(lead=lead, title="Call back", description="x", user=user)
    services.lead_set_status(lead=fresh(lead), status="REVIEW", user=user)
    agent_client.get(f"/leads/{lead.uuid}/")  # the person's first visit marks the lead seen
    with CaptureQueriesContext(connection) as ctx:
        page = agent_client.get(f"/leads/{lead.uuid}/").content.decode()
    reads = [q["sql"] for q in ctx.captured_queries if 'FROM "leads_leadchange"' in q["sql"]]
    assert len(reads) == 2, reads
    assert "Asha, <time" in page.split('id="notes">')[1].split("</ol>")[0]
