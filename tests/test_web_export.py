"""The lead list's export: CSV and XLSX of every field of the filtered rows, formulas neutralised."""

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.factories import SANDBOX_TOKEN, make_lead

pytestmark = pytest.mark.django_db


def _export_leads():
    make_lead(
        1,
        name="Meera Iyer",
        status="DEPENDANCY",
        tags=["hot", "=cmd()"],
        notes=[
            {"id": "n1", "title": "Pricing", "description": "Annual"},
            {"id": "n2", "title": "Call", "description": "After 5"},
        ],
        attributes=[{"key": "plan", "value": "annual"}, {"key": "src", "value": "web"}],
        city="Chennai",
        agent_id="a-9",
    )
    make_lead(2, name='=HYPERLINK("http://evil.example")', email="@sum(1)")
    make_lead(3, name="Closed one", status="CLOSED")


def test_csv_export_has_every_field_for_the_filtered_rows(agent_client, settings):
    _export_leads()
    response = agent_client.get("/leads/?status=DEPENDANCY&status=OPEN&_export=csv")
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('botpanel-leads.csv"')
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 2
    meera = next(r for r in rows if r["Name"] == "Meera Iyer")
    assert meera["Status"] == "Dependency"
    assert meera["Tags"] == "hot, =cmd()"
    assert meera["Notes"] == "Pricing: Annual | Call: After 5"
    assert meera["Attributes"] == "plan=annual; src=web"
    assert meera["Dial code"] == "'+91"
    assert meera["Phone"] == "9876500001" and meera["City"] == "Chennai"
    assert meera["Agent id"] == "a-9" and meera["Uuid"] == "00000000-0000-4000-8000-000000000001"
    assert meera["Agent"] == ""  # nobody is linked to a-9 (tests/test_people.py: a name)
    for column in (
        "Created",
        "Updated",
        "Last message at",
        "Synced",
        "Missing since",
        "Online",
        "Website visits",
        "Last seen",
        "Country",
        "Gender",
        "Picture",
        "Lead",
        "BotPenguin id",
        "Email",
        "Last message",
        "Last message by",
    ):
        assert column in meera
    evil = next(r for r in rows if "HYPERLINK" in r["Name"])
    assert evil["Name"].startswith("'=") and evil["Email"] == "'@sum(1)"
    assert SANDBOX_TOKEN not in response.content.decode()


def test_xlsx_export(agent_client):
    _export_leads()
    response = agent_client.get("/leads/?q=Meera&_export=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header, data = rows[0], rows[1:]
    assert len(data) == 1
    record = dict(zip(header, data[0], strict=True))
    assert record["Name"] == "Meera Iyer" and record["Tags"] == "hot, =cmd()"
    assert record["Notes"] == "Pricing: Annual | Call: After 5"


def test_export_of_other_chats(agent_client):
    make_lead(1)
    make_lead(2, is_lead=False, name="Browsing")
    response = agent_client.get("/leads/?type=non-lead&_export=csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["Name"] for r in rows] == ["Browsing"]
    assert rows[0]["Lead"] == "no"
