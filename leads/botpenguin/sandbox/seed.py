"""Realistic synthetic chats for the sandbox, deterministic for a seed (no Django).

Leads and non-leads, every status, names in several scripts, tags, notes and attributes, agents,
and the untidiness of real data: missing contacts, prefixes with and without "+", a phone as a plain
string, null nested objects, unknown keys, and now and then a hostile string.
"""

from __future__ import annotations

import random
import uuid as uuidlib
from datetime import UTC, datetime, timedelta

FIRST = [
    "Meera",
    "Arjun",
    "Priya",
    "Rahul",
    "Ana",
    "José",
    "Zoë",
    "François",
    "Łukasz",
    "Søren",
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Fatima",
    "Omar",
    "Chen",
    "Yuki",
    "Hiroshi",
    "Ivan",
]
LAST = [
    "Iyer",
    "Sharma",
    "Patel",
    "García",
    "Müller",
    "Dubois",
    "Kowalski",
    "Nielsen",
    "Smith",
    "Nguyen",
    "Khan",
    "Silva",
    "O'Brien",
    "Rossi",
    "Tanaka",
    "Petrov",
    "Haddad",
    "Kim",
]
OTHER_SCRIPTS = [
    "प्रिया शर्मा",
    "राहुल वर्मा",
    "மீரா ஐயர்",
    "கார்த்திக் ராஜா",
    "فاطمة الزهراء",
    "عمر خالد",
    "王伟",
    "李娜",
    "Иван Петров",
    "Мария Иванова",
    "佐藤 健",
    "鈴木 花子",
    "Ελένη Παπαδοπούλου",
]
CITIES = [
    ("Chennai", "India"),
    ("Mumbai", "India"),
    ("Bengaluru", "India"),
    ("Dubai", "UAE"),
    ("London", "United Kingdom"),
    ("New York", "United States"),
    ("Singapore", "Singapore"),
    ("Berlin", "Germany"),
    ("São Paulo", "Brazil"),
    ("Tokyo", "Japan"),
]
PREFIXES = ["91", "91", "91", "1", "44", "971", "+65", "+49", "55", "81"]
TAGS = [
    "pricing",
    "hot",
    "cold",
    "demo",
    "enterprise",
    "support",
    "refund",
    "partner",
    "urgent",
    "vip",
    "trial",
    "churn-risk",
    "whatsapp",
    "newsletter",
    "follow-up",
    "integration",
]
NOTE_TITLES = [
    ("Pricing", "Asked for the annual plan"),
    ("Call back", "Prefers a call after 5 pm"),
    ("Demo", "Wants a demo for the sales team next week"),
    ("Refund", "Charged twice in October; forwarded to billing"),
    ("Integration", "Needs the WhatsApp and HubSpot integrations"),
    ("Language", "Speaks Tamil and English"),
]
ATTRIBUTES = [
    ("plan", ["annual", "monthly", "free", "enterprise"]),
    ("source", ["website", "whatsapp", "instagram", "facebook"]),
    ("utm_campaign", ["diwali-sale", "spring-launch", "retargeting"]),
    ("language", ["en", "hi", "ta", "ar"]),
    ("company_size", ["1-10", "11-50", "51-200", "200+"]),
]
MESSAGES = {
    "bot": [
        "Thanks! An agent will call you.",
        "How can I help you today?",
        "Could you share your email?",
    ],
    "user": [
        "What does the annual plan cost?",
        "I need help with my order",
        "Is there a free trial?",
        "Call me please",
    ],
    "agent": [
        "Hi, this is Anil from sales.",
        "I've sent you the quote by email.",
        "Your refund is on its way.",
    ],
}
AGENTS = [f"64a1a9d0aa0000000000004{i}" for i in range(6)]
STATUS_WEIGHTS = [
    ("OPEN", 30),
    ("INPROGRESS", 25),
    ("REVIEW", 12),
    ("ONHOLD", 10),
    ("DEPENDANCY", 8),
    ("CLOSED", 15),
]
HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    '=HYPERLINK("http://evil.example","click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\u202egnp.exe",
    "Robert'); DROP TABLE leads;--",
    "😀🔥 Emoji Person 🎉",
]


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_chats(
    n: int, *, seed: int = 1, lead_ratio: float = 0.7, now: datetime | None = None
) -> list[tuple[dict, bool]]:
    """`n` chats in the GET shape of API.md, each with whether it is a lead."""
    rng = random.Random(seed)  # noqa: S311 - seeded test data, the same for a seed
    now = now or datetime.now(UTC).replace(microsecond=0)
    used_updates: set[str] = set()
    return [_make_chat(rng, i, now=now, lead_ratio=lead_ratio, used=used_updates) for i in range(n)]


# Each helper below draws from `rng` in a fixed order: a seed always gives the same chats.


def _make_chat(
    rng: random.Random, i: int, *, now: datetime, lead_ratio: float, used: set[str]
) -> tuple[dict, bool]:
    is_lead = rng.random() < lead_ratio
    updated = _updated_at(rng, now, used)
    hostile = rng.random() < 0.02
    details, email_local = _user_details(rng, i, hostile=hostile)
    if is_lead or rng.random() < 0.1:
        details["contact"] = _contact(rng, i, email_local)
    notes = [
        {"_id": _hex(rng, 24), "title": title, "description": description}
        for title, description in rng.sample(NOTE_TITLES, rng.randint(0, 3))
    ]
    if hostile:
        details["tags"] = [*details["tags"][:2], '=HYPERLINK("http://evil.example")']
        notes.append(
            {
                "_id": _hex(rng, 24),
                "title": '"><img src=x onerror=alert(1)>',
                "description": "A" * 3000,
            }
        )
    by = rng.choice(["bot", "user", "agent"])
    chat: dict = {
        "_id": _hex(rng, 24),
        "uuid": str(uuidlib.UUID(int=rng.getrandbits(128), version=4)),
        "createdAt": _iso(updated["created"]),
        "updatedAt": updated["iso"],
        "lastSeenAt": _iso(updated["at"] - timedelta(seconds=rng.randint(0, 120))),
        "isOnline": rng.random() < 0.1,
        "websiteVisits": rng.randint(1, 40),
        "_agentAssigned": rng.choice([*AGENTS, None, None]),
        "lastMessage": {"at": _iso(updated["at"]), "by": by, "text": rng.choice(MESSAGES[by])},
        "profile": {"notes": notes, "userDetails": details},
    }
    _untidy(rng, chat, is_lead=is_lead)
    return chat, is_lead


def _updated_at(rng: random.Random, now: datetime, used: set[str]) -> dict:
    """Created and updated times, the updatedAt distinct from every one in `used`."""
    created = now - timedelta(seconds=rng.randint(3600, 90 * 86400))
    updated = created + timedelta(seconds=rng.randint(0, int((now - created).total_seconds())))
    updated_iso = _iso(updated)
    while updated_iso in used:
        updated += timedelta(milliseconds=1)
        updated_iso = _iso(updated)
    used.add(updated_iso)
    return {"created": created, "at": updated, "iso": updated_iso}


def _user_details(rng: random.Random, i: int, *, hostile: bool) -> tuple[dict, str]:
    """A chat's userDetails (without contact) and the local part of its email."""
    if rng.random() < 0.2:
        name = rng.choice(OTHER_SCRIPTS)
        email_local = f"user{i}"
    else:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        name = f"{first} {last}"
        email_local = f"{first}.{last}".lower().replace("'", "")
        email_local = email_local.encode("ascii", "ignore").decode() or f"user{i}"
    if hostile:
        name = rng.choice(HOSTILE)
    city, country = rng.choice(CITIES)
    details: dict = {
        "name": name,
        "city": city,
        "country": country,
        "gender": rng.choice(["FEMALE", "MALE", "", "OTHER"]),
        "tags": rng.sample(TAGS, rng.randint(0, 4)),
        "attributes": [
            {"key": key, "value": rng.choice(values)}
            for key, values in rng.sample(ATTRIBUTES, rng.randint(0, 3))
        ],
    }
    roll = rng.random()
    if roll < 0.8:
        details["picture"] = f"https://cdn.example.org/u/{_hex(rng, 8)}.png"
    elif roll < 0.83:
        details["picture"] = rng.choice(
            [
                "javascript:alert(1)",
                "data:text/html,<script>alert(1)</script>",
                "//evil.example/x.png",
            ]
        )
    return details, email_local


def _contact(rng: random.Random, i: int, email_local: str) -> dict:
    number = "".join(rng.choice("0123456789") for _ in range(10))
    if rng.random() < 0.08:
        phone: object = f"+{rng.choice(['91', '1'])} {number}"  # a plain string
    else:
        phone = {"number": number, "prefix": rng.choice(PREFIXES)}
    return {"email": f"{email_local}{i}@example.org", "phone": phone}


def _untidy(rng: random.Random, chat: dict, *, is_lead: bool) -> None:
    """A status (always for a lead), and now and then null objects or unknown keys."""
    if is_lead or rng.random() < 0.5:
        statuses = [s for s, _ in STATUS_WEIGHTS]
        weights = [w for _, w in STATUS_WEIGHTS]
        chat["status"] = rng.choices(statuses, weights)[0]
    if rng.random() < 0.03:
        chat["profile"] = {"notes": None, "userDetails": None}
    if rng.random() < 0.05:
        chat["channel"] = rng.choice(["website", "whatsapp"])  # unknown extra keys
        chat["meta"] = {"browser": "Chrome", "os": "Android"}
