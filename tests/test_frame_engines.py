"""The pages agents work in are Jinja2 templates (templates/jinja2), the others Django's: both
show the same frame. The navigation, the messages and the undo toast are the Jinja2 templates'
(frame/*.html, which Django's base.html renders with {% frame %}), the head included."""

import re
from html import unescape

import pytest

from tests.factories import make_lead

pytestmark = pytest.mark.django_db


def frame_of(html: str) -> str:
    """The page without its own parts (its title, its scripts, its content), the CSRF tokens (a
    new mask on every page) and which section is marked active."""
    head = html[: html.index("<title>")]  # the shared head comes first, the page's own after
    nav = html[html.index("<body") : html.index("<main")]
    toast = html[html.index('<div id="undo-toast"') :]
    frame = re.sub(
        r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+', r"\1T", head + nav + toast
    )
    return frame.replace(" active", "").replace(' aria-current="page"', "")


@pytest.mark.parametrize("client_name", ["agent_client", "lead_admin_client", "staff_client"])
def test_django_and_jinja2_pages_show_the_same_frame(request, client_name):
    client = request.getfixturevalue(client_name)
    lead = make_lead(1)
    django_pages = ["/profile/", "/views/", "/activity/"]
    jinja2_pages = ["/leads/", f"/leads/{lead.uuid}/"]
    frames = {}
    for url in django_pages + jinja2_pages:
        response = client.get(url)
        if response.status_code == 200:
            frames[url] = frame_of(response.content.decode())
    assert set(django_pages[:1] + jinja2_pages) <= set(frames)
    first = frames["/profile/"]
    assert 'id="sync-status"' in first and 'id="undo-toast"' in first and "Log out" in first
    for url, frame in frames.items():
        assert frame == first, url


def test_the_messages_and_the_undo_offer_show_on_both_engines(agent_client, botpenguin):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    for n, url in enumerate((f"/leads/{lead.uuid}/", "/profile/")):
        # What a form's redirect leaves for the next page: a message and the undo offer.
        response = agent_client.post(f"/leads/{lead.uuid}/edit/tags/", {"tag": f"t{n}"})
        assert response.status_code == 302
        page = agent_client.get(url).content.decode()
        assert 'class="alert alert-success' in page and f'Saved: tag "t{n}"' in unescape(page)
        assert 'id="undo-button"' in page and f"tag +t{n}" in page, url
