"""People in the Django templates: `{{ agent_id|agent_label }}` (the person's name, or the id
shortened, with `.title` for the tooltip), the detail page's Assign control and the list's agent
filter choices. `{% load people %}`."""

from django import template
from django.urls import reverse

from leads import services
from leads.selectors import people
from leads.selectors.bots import visibility
from leads.web.scope import current_bot

register = template.Library()


@register.filter
def agent_label(agent_id: str) -> people.AgentLabel:
    return people.agent_label(agent_id or "")


def _single_bot(user) -> bool:
    return visibility(user).installation_bots == 1


@register.simple_tag(takes_context=True)
def assign_control(context, lead) -> dict:
    """What the detail page's Assign control offers this person for `lead`: the people of its
    bot when they may assign anyone (lead admins, or the setting), else "Assign to me" and
    "Unassign me" on their own lead."""
    user = context["request"].user
    me = people.person_of(user)
    others = services.may_assign_others(user)
    choices = []
    if others:
        choices = [
            (person.agent_id, person.name)
            for person in people.people_of_bots([lead.bot_id], single_bot=_single_bot(user))
        ]
        if lead.agent_id and lead.agent_id not in {value for value, _ in choices}:
            # Held by an id of no one on this team: kept as the current choice.
            choices.insert(0, (lead.agent_id, people.agent_label(lead.agent_id).text))
    current = people.agent_label(lead.agent_id)
    mine = me is not None and lead.agent_id == me.agent_id
    return {
        "url": reverse("leads:assign", args=[lead.uuid]) + context.get("bot_suffix", ""),
        "current": current,
        "mine": mine,
        "linked": me is not None,
        "choose": others,
        "choices": choices,
        # An agent may take a free lead; a lead admin any lead.
        "take": not mine and (others or not lead.agent_id),
        "profile_url": reverse("leads:profile"),
    }


@register.simple_tag(takes_context=True)
def agent_filter(context, value: str = "", assignable: bool = False) -> dict:
    """The list's agent filter: "Me", "Unassigned" and the people of the bots in scope (the bot
    chosen, else every bot the person sees); a raw id of an old link stays chosen. With
    `assignable`, the bulk "Assign to…" choice: the people only for those who may assign
    anyone."""
    request = context["request"]
    user = request.user
    choices = [(people.ME, "Me"), (people.NOBODY, "Unassigned")]
    if not assignable or services.may_assign_others(user):
        chosen = current_bot(request)
        bots = [chosen] if chosen is not None else visibility(user).ids
        choices += [
            (person.agent_id, person.name)
            for person in people.people_of_bots(bots, single_bot=_single_bot(user))
        ]
    value = value or ""
    if value and value not in {v for v, _ in choices}:
        choices.append((value, people.agent_label(value).text))
    return {"value": value, "choices": choices}
