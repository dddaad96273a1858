"""History people can read: each change as a sentence ("status Open → Review", "tag +vip",
"assigned to Priya", "note added: Call back", "email a@b → c@d") with its state, who and when, on
the lead's page and the Activity page; and notes that say who wrote them in BotPanel and when,
or that they came from BotPenguin."""

import re

import pytest
from django.template.loader import render_to_string

from leads import services
from leads.models import Lead, LeadChange
from leads.selectors.history import lead_history, lead_notes
from tests.factories import history_sentences, link, make_lead

pytestmark = pytest.mark.django_db(transaction=True)

PRIYA_ID = "64a1a9d0aa00000000000099"
NOBODY_ID = "ffffeeee0000111122223333"


@pytest.fixture
def priya(django_user_model, user):
    priya = django_user_model.objects.create_user(
        username="priya", password="priya-pass-123", first_name="Priya"
    )
    priya.groups.add(*user.groups.all())
    return link(priya, PRIYA_ID)


def fresh(lead) -> Lead:
    return Lead.objects.get(pk=lead.pk)


def rendered(lead) -> list[str]:
    return history_sentences(
        render_to_string("leads/partials/history.html", {"history": lead_history(lead=lead)})
    )


def test_each_kind_of_change_reads_as_a_sentence(botpenguin, user, lead_admin, priya):
    lead = make_lead(1, sandbox=botpenguin.sandbox, email="a@b.org", tags=["spam"])
    services.lead_set_status(lead=lead, status="REVIEW", user=user)
    services.lead_add_tag(lead=lead, tag="vip", user=user)
    services.lead_remove_tag(lead=lead, tag="spam", user=user)
    services.lead_assign(lead=lead, agent_id=PRIYA_ID, user=lead_admin)
    services.lead_assign(lead=lead, agent_id="", user=lead_admin)
    services.lead_add_note(lead=lead, title="Call back", description="At 10", user=user)
    services.lead_update_contact(lead=lead, email="c@d.org", user=lead_admin)
    assert rendered(lead) == [
        "email a@b.org → c@d.org",
        "note added: Call back",
        "unassigned",
        "assigned to Priya",
        "tag −spam",
        "tag +vip",
        "status Open → Review",
    ]


def test_an_agent_id_nobody_is_linked_to_is_shortened_with_the_id_in_a_tooltip(
    botpenguin, lead_admin
):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    LeadChange.objects.create(
        lead=lead,
        user=lead_admin,
        action="contact",
        before={"agent_id": ""},
        after={"agent_id": NOBODY_ID},
        state="delivered",
    )
    html = render_to_string("leads/partials/history.html", {"history": lead_history(lead=lead)})
    assert history_sentences(html) == ["assigned to ffffee…3333"]
    assert f'title="{NOBODY_ID}"' in html


def test_one_change_of_several_fields_and_an_undo(botpenguin, user):
    lead = make_lead(1, sandbox=botpenguin.sandbox, tags=["old"])
    LeadChange.objects.create(
        lead=lead,
        user=user,
        action="macro",
        before={"status": "OPEN", "tags": ["old"]},
        after={"tags": ["new"], "status": "CLOSED"},
        state="delivered",
    )
    LeadChange.objects.create(
        lead=lead,
        user=user,
        action="undo",
        before={"status": "REVIEW"},
        after={"status": "OPEN"},
        state="pending",
    )
    assert rendered(lead) == [
        "undo: status Review → Open",
        "macro: status Open → Closed, tag +new, tag −old",
    ]


def test_the_entry_says_its_state_who_and_when(botpenguin, user):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    services.lead_set_status(lead=lead, status="REVIEW", user=user)
    botpenguin.sandbox.fail_next(5, status=500)
    services.lead_set_status(lead=lead, status="CLOSED", user=user)
    change = LeadChange.objects.create(
        lead=lead,
        user=None,
        action="status",
        before={"status": "CLOSED"},
        after={"status": "OPEN"},
        state="not_kept",
    )
    html = render_to_string("leads/partials/history.html", {"history": lead_history(lead=lead)})
    entries = html.split('class="border-bottom py-1 history-entry"')[1:]
    assert "not kept" in entries[0] and "system" in entries[0]
    assert f'data-change="{change.pk}"' in html
    assert "pending" in entries[1] and "Asha" in entries[1]
    assert "delivered" in entries[2] and "Asha" in entries[2]
    assert "<time datetime=" in entries[2]


def test_hostile_values_are_shown_as_text(botpenguin, user):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    services.lead_add_tag(lead=lead, tag="<b>x</b>", user=user)
    html = render_to_string("leads/partials/history.html", {"history": lead_history(lead=lead)})
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x" not in html


# --- notes ---------------------------------------------------------------------------------------


def test_a_note_written_in_botpanel_shows_its_author_and_botpenguins_say_so(botpenguin, user):
    lead = make_lead(
        1,
        sandbox=botpenguin.sandbox,
        notes=[{"id": "n1", "title": "Pricing", "description": "Asked for the annual plan"}],
    )
    change = services.lead_add_note(lead=lead, title="Call back", description="At 10", user=user)
    notes = lead_notes(lead=fresh(lead))
    assert [(n.title, n.author) for n in notes] == [("Call back", "Asha"), ("Pricing", "")]
    assert notes[0].at == change.created_at and not notes[1].from_botpanel
    html = render_to_string("leads/partials/notes.html", {"notes": notes})
    authors = [part.split("</div>")[0] for part in html.split('note-author">')[1:]]
    assert "Asha, <time" in authors[0]
    assert authors[1] == "from BotPenguin"


def test_notes_are_matched_after_botpenguin_gave_them_ids_and_tidied_spaces(botpenguin, user):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    services.lead_add_note(lead=lead, title="Call back", description="At 10", user=user)
    services.lead_add_note(lead=lead, title="Call back", description="At 10", user=user)
    Lead.objects.filter(pk=lead.pk).update(
        notes=[
            {"id": "a1", "title": "Call  back ", "description": "At 10"},
            {"id": "a2", "title": "Call back", "description": " At 10"},
            {"id": "a3", "title": "Call back", "description": "At 10"},  # a third, BotPenguin's
        ]
    )
    notes = lead_notes(lead=fresh(lead))
    assert [n.author for n in notes] == ["", "Asha", "Asha"]


def test_a_botpenguin_note_with_the_same_words_that_came_first_stays_botpenguins(botpenguin, user):
    lead = make_lead(
        1, sandbox=botpenguin.sandbox, notes=[{"id": "n1", "title": "Hi", "description": ""}]
    )
    services.lead_add_note(lead=lead, title="Hi", description="", user=user)
    notes = lead_notes(lead=fresh(lead))
    assert [n.author for n in notes] == ["Asha", ""]


def test_a_discarded_note_is_nobodys(botpenguin, user):
    lead = make_lead(1, sandbox=botpenguin.sandbox)
    change = services.lead_add_note(lead=lead, title="Hi", description="", user=user)
    LeadChange.objects.filter(pk=change.pk).update(state="discarded")
    notes = lead_notes(lead=fresh(lead))
    assert [(n.title, n.author) for n in notes] == [("Hi", "")]


# --- the pages -----------------------------------------------------------------------------------


def test_the_lead_page_shows_the_sentences_and_who_wrote_each_note(botpenguin, agent_client, user):
    lead = make_lead(
        1, sandbox=botpenguin.sandbox, notes=[{"id": "n1", "title": "Pricing", "description": ""}]
    )
    agent_client.post(f"/leads/{lead.uuid}/edit/status/", {"status": "REVIEW"})
    agent_client.post(f"/leads/{lead.uuid}/edit/note/", {"title": "Call back", "description": "x"})
    page = agent_client.get(f"/leads/{lead.uuid}/").content.decode()
    assert history_sentences(page) == ["note added: Call back", "status Open → Review"]
    assert 'id="undo-button"' not in page  # a note withdrew the status change's undo
    notes = page.split('id="notes">')[1].split("</ol>")[0]
    text = " ".join(re.sub(r"<[^>]+>", " ", notes).split())
    assert text == "Call back x Asha, just now Pricing from BotPenguin"


def test_the_activity_page_says_what_changed(botpenguin, agent_client, user):
    lead = make_lead(1, sandbox=botpenguin.sandbox, tags=["spam"])
    services.lead_set_status(lead=lead, status="REVIEW", user=user)
    services.lead_remove_tag(lead=lead, tag="spam", user=user)
    page = agent_client.get("/activity/").content.decode()
    assert history_sentences(page) == ["tag −spam", "status Open → Review"]
    assert "What changed" in page
