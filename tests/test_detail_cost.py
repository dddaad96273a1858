"""What a lead's page costs besides showing it: opening it again writes nothing, and every form
of the page carries the same CSRF token (made once, as Django's templates make it)."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.models import LeadSeen
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


def writes(ctx) -> list[str]:
    return [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].startswith(("INSERT", "UPDATE", "DELETE", "BEGIN"))
        and "django_session" not in q["sql"]
    ]


def test_opening_a_lead_again_writes_nothing_and_it_stays_opened(agent_client, user):
    lead = make_lead(1, remote_created_at=timezone.now() - timedelta(hours=1))
    with CaptureQueriesContext(connection) as first:
        agent_client.get(f"/leads/{lead.uuid}/")
    assert any("leads_leadseen" in sql for sql in writes(first))
    with CaptureQueriesContext(connection) as again:
        assert agent_client.get(f"/leads/{lead.uuid}/").status_code == 200
    assert writes(again) == []
    assert LeadSeen.objects.filter(user=user, lead=lead).count() == 1
    assert "mark-new" not in agent_client.get("/leads/").content.decode()


def test_each_person_marks_a_lead_opened_for_themselves(client, user, lead_admin):
    lead = make_lead(1, remote_created_at=timezone.now() - timedelta(hours=1))
    for person in (user, lead_admin):
        client.force_login(person)
        assert "mark-new" in client.get("/leads/").content.decode()
        client.get(f"/leads/{lead.uuid}/")
        assert "mark-new" not in client.get("/leads/").content.decode()
    assert LeadSeen.objects.filter(lead=lead).count() == 2


def test_every_form_of_a_lead_s_page_carries_the_page_s_one_csrf_token(lead_admin_client):
    lead = make_lead(1, tags=["a", "b"])
    html = lead_admin_client.get(f"/leads/{lead.uuid}/").content.decode()
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    header = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
    assert len(tokens) >= 8 and set(tokens) == {header}
