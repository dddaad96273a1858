"""Small helpers to put leads in the mirror (and in the sandbox, so edits can reach them)."""

from datetime import UTC, datetime, timedelta

from leads.models import Lead, LeadTag
from leads.selectors.counting import bump_mirror_version

SANDBOX_TOKEN = "sandbox-test-token-5f2c"  # distinctive, so tests can scan pages and logs for it
BOT_ID = "test-bot"
CUSTOMER_ID = "test-customer"
BASE = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def make_lead(n: int = 0, *, sandbox=None, **fields) -> Lead:
    """A lead whose updated time grows with n; also stored in the sandbox when one is given."""
    values = {
        "bot_id": BOT_ID,
        "customer_id": CUSTOMER_ID,
        "uuid": f"00000000-0000-4000-8000-{n:012d}",
        "remote_id": f"{n:024x}",
        "name": f"Person {n}",
        "email": f"person{n}@example.org",
        "phone": f"98765{n:05d}",
        "dial_code": "+91",
        "status": "OPEN",
        "tags": [],
        "notes": [],
        "attributes": [],
        "remote_created_at": BASE - timedelta(days=10) + timedelta(minutes=n),
        "remote_updated_at": BASE + timedelta(minutes=n),
    }
    values.update(fields)
    lead = Lead.objects.create(**values)
    keys = {}
    for tag in lead.tags:
        keys.setdefault(tag.casefold(), tag)
    LeadTag.objects.bulk_create(
        [LeadTag(lead=lead, name=name, key=key) for key, name in keys.items()]
    )
    if sandbox is not None:
        sandbox.add_chat(as_chat(lead), is_lead=lead.is_lead)
    bump_mirror_version()  # as every real write to the mirror does
    return lead


def as_chat(lead: Lead) -> dict:
    """The lead in the GET shape, as BotPenguin would hold it."""
    return {
        "_id": lead.remote_id,
        "uuid": lead.uuid,
        "createdAt": lead.remote_created_at.isoformat().replace("+00:00", "Z"),
        "updatedAt": lead.remote_updated_at.isoformat().replace("+00:00", "Z"),
        "status": lead.status,
        "_agentAssigned": lead.agent_id or None,
        "profile": {
            "notes": [
                {
                    "_id": n.get("id") or f"{i:024x}",
                    "title": n["title"],
                    "description": n["description"],
                }
                for i, n in enumerate(lead.notes)
            ],
            "userDetails": {
                "name": lead.name,
                "picture": lead.picture,
                "contact": {
                    "email": lead.email,
                    "phone": {"number": lead.phone, "prefix": lead.dial_code.lstrip("+")},
                },
                "tags": list(lead.tags),
                "attributes": list(lead.attributes),
            },
        },
    }
