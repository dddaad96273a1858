"""Parts of the detail page: the previous and next leads within the list's filter, the
formset's counters and the fields' errors."""

import pytest
from django.db import connection
from pytest_django.asserts import assertHTMLEqual

from tests.factories import make_lead

pytestmark = pytest.mark.django_db


def test_previous_and_next_with_equal_update_times(agent_client, botpenguin):
    from tests.factories import BASE

    a, b, c = (make_lead(n, remote_updated_at=BASE) for n in range(3))
    newer = make_lead(9)  # updated later: first in the list
    html = agent_client.get(f"/leads/{b.uuid}/").content.decode()
    assert f'href="/leads/{c.uuid}/" id="prev-lead"' in html  # same time, higher id: before
    assert f'href="/leads/{a.uuid}/" id="next-lead"' in html
    html = agent_client.get(f"/leads/{c.uuid}/").content.decode()
    assert f'href="/leads/{newer.uuid}/" id="prev-lead"' in html


def test_previous_and_next_with_microseconds_and_ties_one_query_each():
    """Each side is one query from the lead's place, ties on the timestamp broken by id,
    microseconds compared as the ORM stores them."""
    from datetime import timedelta

    from django.http import QueryDict
    from django.test.utils import CaptureQueriesContext

    from leads.selectors.lists import neighbours
    from tests.factories import BASE

    tie = BASE + timedelta(microseconds=500_001)
    older = make_lead(1, remote_updated_at=BASE + timedelta(microseconds=500_000))
    a, b, c = (make_lead(n, remote_updated_at=tie) for n in (2, 3, 4))
    newer = make_lead(5, remote_updated_at=tie + timedelta(microseconds=1))
    closed = make_lead(6, remote_updated_at=tie, status="CLOSED")  # filtered out by status
    with CaptureQueriesContext(connection) as ctx:
        assert neighbours(lead=b, params=QueryDict("status=OPEN")) == (c.uuid, a.uuid)
    assert len(ctx.captured_queries) <= 2
    assert neighbours(lead=a, params=QueryDict("")) == (b.uuid, older.uuid)
    assert neighbours(lead=c, params=QueryDict("status=OPEN")) == (newer.uuid, b.uuid)
    assert neighbours(lead=newer, params=QueryDict("")) == (None, closed.uuid)


@pytest.mark.parametrize(
    "data",
    [
        None,
        {
            "attr-TOTAL_FORMS": "3",
            "attr-INITIAL_FORMS": "1",
            "attr-MIN_NUM_FORMS": "0",
            "attr-MAX_NUM_FORMS": "1000",
        },
    ],
)
def test_the_attribute_formset_counters_are_django_s_management_form(data):
    """The page writes the formset's counters itself (rendering the management form through the
    widget templates cost 3 ms); they must be what Django's management form holds."""
    from leads.web.forms import AttributeFormSet
    from leads.web.template_helpers import management_form

    initial = [{"key": "plan", "value": "gold"}]
    formset = AttributeFormSet(data, initial=initial, prefix="attr")
    assertHTMLEqual(management_form(formset), str(formset.management_form))


def test_field_errors_are_escaped_under_the_field():
    from django import forms

    from leads.web.template_helpers import field_errors

    class Form(forms.Form):
        name = forms.CharField(max_length=3)

    form = Form({"name": "<b>long</b>"})
    assert not form.is_valid()
    html = field_errors(form["name"])
    assert html.startswith('<div class="invalid-feedback d-block">Ensure this value has at most 3')
    assert field_errors(Form({"name": "ok"})["name"]) == ""
