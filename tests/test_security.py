"""Hostile input and secrets: hostile API data shown as text everywhere, exports that cannot
run formulas, the API token in no page, export, log line or /healthz, and strict headers (CSP)."""

import csv
import io
import logging
import re

import openpyxl
import pytest
from django.core.management import call_command
from django.test import Client

from leads import services
from leads.models import Lead
from tests.factories import BASE, SANDBOX_TOKEN, as_chat, make_lead

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
FORMULA = '=HYPERLINK("http://evil.example","click")'


def hostile_chat(lead_uuid: str) -> dict:
    lead = Lead(
        uuid=lead_uuid,
        remote_id="abc123",
        name=XSS,
        email=f"{XSS}@example.org",
        phone="+cmd|' /C calc'!A0",
        dial_code="+91",
        status="OPEN",
        agent_id="",
        tags=[XSS, FORMULA],
        notes=[{"id": "n1", "title": XSS, "description": XSS}],
        attributes=[{"key": XSS, "value": "@SUM(1+1)"}],
        picture="javascript:alert(1)",
    )
    lead.remote_created_at = lead.remote_updated_at = BASE
    chat = as_chat(lead)
    chat["_agentAssigned"] = XSS
    details = chat["profile"]["userDetails"]
    details.update(city=XSS, country=FORMULA, gender=XSS)
    chat["lastMessage"] = {"at": "2026-10-01T12:00:00Z", "by": XSS, "text": XSS}
    return chat


@pytest.fixture
def hostile(botpenguin, admin_user):
    uuid = "11111111-2222-4333-8444-555555555555"
    botpenguin.sandbox.add_chat(hostile_chat(uuid))
    data_uri = hostile_chat("11111111-2222-4333-8444-666666666666")
    data_uri["profile"]["userDetails"]["picture"] = "data:text/html;base64,PHNjcmlwdD4="
    botpenguin.sandbox.add_chat(data_uri)
    call_command("sync_leads")
    client = Client()
    client.force_login(admin_user)
    return {"lead": Lead.objects.get(uuid=uuid), "client": client}


def body(response) -> bytes:
    return response.content if not response.streaming else b"".join(response.streaming_content)


def test_hostile_strings_are_plain_text_on_every_page(hostile):
    lead, client = hostile["lead"], hostile["client"]
    assert lead.name == XSS  # stored as sent
    pages = [
        "/",
        "/leads/",
        "/leads/?q=alert",
        f"/leads/{lead.uuid}/",
        "/activity/",
        "/admin/leads/lead/",
        f"/admin/leads/lead/{lead.pk}/change/",
        "/leads/tags/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "<script>alert" not in html, url
        assert "<img src=x" not in html, url
        # shown as text at most, never as a link or an image
        assert not re.search(r'(src|href|action)="\s*(javascript|data):', html, re.I), url
    detail = client.get(f"/leads/{lead.uuid}/").content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in detail


PICTURES_SHOWN = {
    "https://cdn.example.org/a.png": True,
    "http://cdn.example.org/b.png": True,
    "javascript:alert(1)": False,
    "JaVaScRiPt:alert(1)": False,
    "data:image/png;base64,AAAA": False,
    "//evil.example/x.png": False,
    "vbscript:msgbox(1)": False,
}


def test_pictures_only_http_or_https_reach_src_or_href(hostile, botpenguin, settings):
    client = hostile["client"]
    for allowed in (True, False):  # BOTPANEL_THIRD_PARTY_IMAGES: off, no picture is loaded
        settings.BOTPANEL_THIRD_PARTY_IMAGES = allowed
        for picture, shown in PICTURES_SHOWN.items():
            lead = make_lead(50, picture=picture, uuid="pic-" + str(abs(hash(picture))))
            for url in ("/leads/", f"/leads/{lead.uuid}/"):
                html = client.get(url).content.decode()
                assert (f'src="{picture}"' in html) is (shown and allowed), (picture, url)
                assert f'href="{picture}"' not in html or shown
            lead.delete()


def test_external_links_do_not_leak_the_opener(hostile):
    client = hostile["client"]
    make_lead(60, picture="https://cdn.example.org/a.png", email="x@example.org")
    for url in ("/leads/", f"/leads/{Lead.objects.get(remote_id=f'{60:024x}').uuid}/"):
        html = client.get(url).content.decode()
        for tag in re.findall(r'<a [^>]*href="https?://[^"]*"[^>]*>', html):
            assert 'rel="noopener noreferrer"' in tag, tag


def test_exports_neutralise_formulas_and_keep_the_text(hostile):
    client = hostile["client"]
    text = body(client.get("/leads/?_export=csv")).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    row = next(r for r in rows if r["Name"].endswith(XSS))
    for column in ("Phone", "Country"):
        assert row[column][0] not in "=+-@", (column, row[column])
    assert row["Country"] == "'" + FORMULA
    assert XSS in row["Name"]
    for value in (v for r in rows for v in r.values()):
        assert not value or value[0] not in "=+-@", value
    book = openpyxl.load_workbook(io.BytesIO(body(client.get("/leads/?_export=xlsx"))))
    for sheet_row in book.active.iter_rows(values_only=True):
        for value in sheet_row:
            if isinstance(value, str) and value:
                assert value[0] not in "=+-@", value
    assert SANDBOX_TOKEN not in text


def test_the_token_is_in_no_page_export_log_or_health_report(hostile, caplog, lead_admin):
    caplog.set_level(logging.DEBUG)
    lead, client = hostile["lead"], hostile["client"]
    # exercise failures too: a refused edit and a failed sync write error messages
    hostile_box = Lead.objects.get(pk=lead.pk)
    services.lead_set_status(lead=hostile_box, status="REVIEW", user=lead_admin)
    seen = []
    for url in (
        "/",
        "/leads/",
        f"/leads/{lead.uuid}/",
        "/leads/?_export=csv",
        "/leads/?_export=xlsx",
        "/activity/",
        "/healthz",
        "/sync/status/",
        "/changes/counts/",
        "/admin/leads/lead/",
        f"/admin/leads/lead/{lead.pk}/change/",
        "/admin/leads/leadchange/",
        "/admin/leads/syncrun/",
        "/nonexistent/",
    ):
        response = client.get(url)
        seen.append(body(response))
    seen.append(client.post("/sync/now/", headers={"HX-Request": "true"}).content)
    for content in seen:
        assert SANDBOX_TOKEN.encode() not in content
    assert SANDBOX_TOKEN not in caplog.text


# --- headers ------------------------------------------------------------------------------------


@pytest.fixture
def lead():
    return make_lead(1, tags=["vip"])


def test_every_page_has_a_strict_content_security_policy(agent_client, lead):
    for url in ("/", "/leads/", f"/leads/{lead.uuid}/", "/accounts/login/", "/healthz"):
        response = agent_client.get(url)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"


def test_no_page_carries_inline_script(staff_client, lead):
    pages = [
        "/",
        "/leads/",
        f"/leads/{lead.uuid}/",
        "/activity/",
        "/accounts/login/",
        "/accounts/password_change/",
        "/admin/",
        "/admin/leads/lead/",
    ]
    for url in pages:
        html = staff_client.get(url).content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, (url, tag)
        assert not re.search(r"\son[a-z]+\s*=", html), url  # no onclick= style handlers
