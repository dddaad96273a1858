"""The lead list's table copies its columns cheaply (tables.Column): what one table changes in
a column stays its own, as with django-tables2's deepcopy."""

import pytest

from leads.web.tables import LeadTable

pytestmark = pytest.mark.django_db  # a table reads the people directory


def test_a_tables_columns_are_its_own():
    first, second = LeadTable([]), LeadTable([])
    first.columns["status"].column.attrs["th"]["class"] = "changed"
    first.columns["name"].column.verbose_name = "Changed"
    assert second.columns["status"].column.attrs["th"]["class"] == "c-status"
    assert LeadTable.base_columns["status"].attrs["th"]["class"] == "c-status"
    assert LeadTable([]).columns["name"].header == "Name"
    assert [c.name for c in second.columns] == [c.name for c in LeadTable([]).columns]
