"""The load test's agents read the pages as people's browsers do: the list's rows (uuid, version,
status, where the status select posts) and the lead page's status form. These check that what
they read from the real pages still works, so a markup change cannot quietly empty the load
test's edits."""

import html

import pytest

from leads.models import Lead
from loadtest import agent
from tests.factories import make_lead

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_agent_reads_the_lists_rows_and_edits_one_where_the_select_posts(
    agent_client, botpenguin
):
    leads = [make_lead(n, sandbox=botpenguin.sandbox, status="REVIEW") for n in range(3)]
    text = agent_client.get("/leads/").content.decode()

    rows = {
        html.unescape(uuid): (link, version, status)
        for uuid, version, link, status in agent._rows(text)
    }
    assert set(rows) == {lead.uuid for lead in leads}
    link, version, status = rows[leads[0].uuid]
    assert (int(version), status) == (leads[0].version, "REVIEW")

    response = agent_client.post(
        html.unescape(link) + "row-status/",
        {"status": "CLOSED", "version": version},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and "row-error" not in response.content.decode()
    assert Lead.objects.get(pk=leads[0].pk).status == "CLOSED"
    (_, new_version, _, new_status) = agent._rows(response.content.decode())[0]
    assert (int(new_version), new_status) == (leads[0].version + 1, "CLOSED")


def test_an_agent_reads_the_status_form_and_what_became_of_its_edit(agent_client, botpenguin):
    lead = make_lead(1, sandbox=botpenguin.sandbox, status="OPEN")
    text = agent_client.get(f"/leads/{lead.uuid}/").content.decode()
    form = agent.STATUS_FORM.search(text)
    fields = dict(agent.HIDDEN.findall(form.group(0)))
    assert agent._selected(form.group(0)) == "OPEN" and fields["version"] == str(lead.version)

    action = html.unescape(form.group(1))
    saved = agent_client.post(action, {"status": "REVIEW", "version": fields["version"]})
    assert agent._form_outcome(agent_client.get(saved["Location"]).content.decode()) == "accepted"

    stale = agent_client.post(action, {"status": "CLOSED", "version": fields["version"]})
    assert agent._form_outcome(agent_client.get(stale["Location"]).content.decode()) == "conflict"

    botpenguin.sandbox.fail_next(1, status=503, method="PUT")
    fresh = agent_client.get(f"/leads/{lead.uuid}/").content.decode()
    version = dict(agent.HIDDEN.findall(agent.STATUS_FORM.search(fresh).group(0)))["version"]
    queued = agent_client.post(action, {"status": "ONHOLD", "version": version})
    assert agent._form_outcome(agent_client.get(queued["Location"]).content.decode()) == "pending"

    botpenguin.sandbox.fail_next(1, status=400, method="PUT")
    fresh = agent_client.get(f"/leads/{lead.uuid}/").content.decode()
    version = dict(agent.HIDDEN.findall(agent.STATUS_FORM.search(fresh).group(0)))["version"]
    refused = agent_client.post(action, {"status": "CLOSED", "version": version})
    assert agent._form_outcome(agent_client.get(refused["Location"]).content.decode()) == "refused"
