"""The sandbox answers as API.md documents, over real HTTP on a loopback port."""

import json
import socket
import time

import pytest
import requests

from leads.botpenguin.sandbox.seed import make_chats
from leads.botpenguin.sandbox.server import Sandbox

TOKEN = "contract-token"
BOT, CUSTOMER = "bot-1", "cust-1"


@pytest.fixture
def box():
    sandbox = Sandbox(token=TOKEN, bot_id=BOT, customer_id=CUSTOMER, page_size=5)
    with sandbox.serve() as running:
        yield running


def get(box, headers=None, **query):
    params = {"botId": BOT, "customerId": CUSTOMER, "page": "1", "type": "lead", **query}
    params = {k: v for k, v in params.items() if v is not None}
    return requests.get(
        f"{box.url}/inbox/direct/chats",
        params=params,
        headers={"x-bot-token": TOKEN} if headers is None else headers,
        timeout=5,
    )


def put(box, body=None, headers=None, raw=None):
    payload = {"uuid": "u-1", "botId": BOT, "customerId": CUSTOMER, **(body or {})}
    return requests.put(
        f"{box.url}/inbox/direct/lead",
        data=raw if raw is not None else json.dumps(payload),
        headers={"x-bp-token": TOKEN} if headers is None else headers,
        timeout=5,
    )


@pytest.mark.parametrize(
    "headers", [{}, {"x-bot-token": "wrong"}, {"x-bp-token": TOKEN}], ids=["none", "wrong", "put"]
)
def test_get_needs_the_x_bot_token(box, headers):
    response = get(box, headers=headers)
    assert response.status_code == 401
    assert response.json() == {
        "success": False,
        "message": "Invalid or missing x-bot-token",
        "code": 401,
    }


@pytest.mark.parametrize(
    "headers", [{}, {"x-bp-token": "wrong"}, {"x-bot-token": TOKEN}], ids=["none", "wrong", "get"]
)
def test_put_needs_the_x_bp_token(box, headers):
    response = put(box, {"status": "OPEN"}, headers=headers)
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid or missing x-bp-token"
    assert box.sandbox.get_chat("u-1") is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"botId": None}, "botId is required"),
        ({"customerId": None}, "customerId is required"),
        ({"page": None}, "page is required"),
        ({"type": None}, "type is required"),
        ({"page": "0"}, "page must be a positive integer"),
        ({"page": "two"}, "page must be a positive integer"),
        ({"type": "all"}, 'type must be "lead" or "non-lead"'),
        ({"botId": "other"}, "Unknown botId"),
        ({"customerId": "other"}, "customerId does not match"),
    ],
)
def test_list_query_rules(box, query, message):
    response = get(box, **query)
    assert response.status_code == 400
    assert response.json() == {"success": False, "message": message, "code": 400}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"uuid": ""}, "uuid: is required"),
        ({"botId": "other"}, "botId: unknown bot"),
        ({"customerId": "x"}, "customerId: does not match the bot"),
        ({"colour": "red"}, "unknown field: colour"),
        ({"agentId": True}, "agentId: must be a string"),
        ({"name": "x" * 201}, "name: must be a string of at most 200 characters"),
        ({"email": "not-an-email"}, "email: must be a valid email address"),
        ({"phone": "12ab"}, "phone: must be 1-20 digits, spaces and dashes"),
        ({"dialCode": "91"}, 'dialCode: must be "+" followed by 1-4 digits'),
        ({"dialCode": "+12345"}, 'dialCode: must be "+" followed by 1-4 digits'),
        ({"status": "DEPENDENCY"}, "status: must be one of"),
        ({"picture": "javascript:alert(1)"}, "picture: must be an http(s) URL"),
        ({"tags": ["ok", ""]}, "tags: must be an array of strings of 1-50 characters"),
        ({"tags": ["x" * 51]}, "tags: must be an array of strings of 1-50 characters"),
        ({"tags": ["Hot", "hot"]}, "tags: duplicate tag"),
        ({"notes": {"title": "x"}}, "notes: must be an array"),
        ({"notes": [{"title": ""}]}, "notes: title must be 1-200 characters"),
        ({"notes": [{"title": "t", "description": "d" * 5001}]}, "notes: description must be"),
        ({"notes": [{"title": "t", "extra": 1}]}, "notes: each note is {title, description}"),
        ({"attributes": [{"key": "", "value": "v"}]}, "attributes: each is"),
        ({"attributes": [{"key": "k", "value": 1}]}, "attributes: each is"),
        ({"attributes": [{"key": "k", "value": "a"}, {"key": "k", "value": "b"}]}, "duplicate key"),
    ],
)
def test_put_validation_rules(box, body, message):
    response = put(box, body)
    assert response.status_code == 400
    assert response.json()["success"] is False and response.json()["code"] == 400
    assert message in response.json()["message"]
    assert box.sandbox.get_chat(body.get("uuid", "u-1") or "u-1") is None


def test_put_body_must_be_a_json_object(box):
    assert put(box, raw="not json").status_code == 400
    assert put(box, raw="[1]").json()["message"] == "body: must be a JSON object"


def test_put_creates_a_lead_then_updates_only_given_fields(box):
    assert put(box, {"name": "Asha", "email": "a@example.org", "tags": ["a", "b"]}).json() == {
        "success": True,
        "message": "ok",
        "code": 200,
    }
    chat = box.sandbox.get_chat("u-1")
    assert box.sandbox.is_lead("u-1") is True
    created = chat["updatedAt"]

    put(box, {"status": "REVIEW", "tags": ["c"], "phone": "555 1234", "dialCode": "+44"})

    chat = box.sandbox.get_chat("u-1")
    details = chat["profile"]["userDetails"]
    assert details["name"] == "Asha" and details["contact"]["email"] == "a@example.org"
    assert details["tags"] == ["c"]  # arrays replace
    assert details["contact"]["phone"] == {"number": "555 1234", "prefix": "44"}
    assert chat["status"] == "REVIEW"
    assert chat["updatedAt"] > created


def test_notes_keep_ids_of_unchanged_notes(box):
    put(box, {"notes": [{"title": "A", "description": "1"}]})
    first_id = box.sandbox.get_chat("u-1")["profile"]["notes"][0]["_id"]
    put(box, {"notes": [{"title": "A", "description": "1"}, {"title": "B", "description": ""}]})
    notes = box.sandbox.get_chat("u-1")["profile"]["notes"]
    assert notes[0]["_id"] == first_id and len(notes[1]["_id"]) == 24


def test_listing_is_newest_first_paged_and_ends_with_an_empty_page(box):
    for chat, _ in make_chats(12, seed=3):
        box.sandbox.add_chat(chat, is_lead=True)
    pages = [get(box, page=str(p)).json()["data"] for p in (1, 2, 3, 4)]
    assert [len(p) for p in pages] == [5, 5, 2, 0]
    stamps = [c["updatedAt"] for p in pages for c in p]
    assert stamps == sorted(stamps, reverse=True)
    assert len({c["uuid"] for p in pages for c in p}) == 12


def test_a_put_moves_a_chat_to_the_top_and_a_non_lead_becomes_a_lead(box):
    chats = make_chats(8, seed=4)
    for chat, _ in chats:
        box.sandbox.add_chat(chat, is_lead=False)
    oldest = min(chats, key=lambda c: c[0]["updatedAt"])[0]["uuid"]
    assert get(box, type="lead").json()["data"] == []

    put(box, {"uuid": oldest, "status": "CLOSED"})

    assert [c["uuid"] for c in get(box, type="lead").json()["data"]] == [oldest]
    assert oldest not in [c["uuid"] for c in get(box, type="non-lead").json()["data"]]


def test_fault_switches(box):
    box.sandbox.fail_puts = True
    response = put(box, {"status": "OPEN"})
    assert response.status_code == 503
    assert response.json()["message"] == "sandbox: PUTs are switched off"
    box.sandbox.fail_puts = False

    box.sandbox.fail_next(2, status=429, retry_after=3)
    first, second, third = get(box), get(box), get(box)
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert first.headers["Retry-After"] == "3"

    box.sandbox.page_faults.update({1: "500", 2: "non-json", 3: "401", 4: "no-data"})
    assert get(box, page="1").status_code == 500
    assert get(box, page="2").headers["Content-Type"].startswith("text/html")
    assert get(box, page="3").status_code == 401
    assert "data" not in get(box, page="4").json()
    # Every request is recorded, faults included, in order.
    assert [r.status for r in box.sandbox.requests][-4:] == [500, 200, 401, 200]


def test_fail_rate_answers_503_or_429():
    sandbox = Sandbox(token=TOKEN, bot_id=BOT, customer_id=CUSTOMER, fail_rate=1.0)
    with sandbox.serve() as running:
        statuses = {get(running).status_code for _ in range(12)}
    assert statuses <= {503, 429} and statuses


def test_latency():
    sandbox = Sandbox(token=TOKEN, bot_id=BOT, customer_id=CUSTOMER, latency_ms=200)
    with sandbox.serve() as running:
        started = time.monotonic()
        get(running)
        assert time.monotonic() - started >= 0.2


def test_answers_leave_with_nagle_off(box, monkeypatch):
    """Headers and body are two writes: with Nagle's algorithm on, every keep-alive answer waited
    for the client's delayed ACK (about 40 ms on top of the configured latency)."""
    handler = box.server.RequestHandlerClass
    nodelay = []
    setup = handler.setup

    def recording_setup(self):
        setup(self)
        nodelay.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(handler, "setup", recording_setup)
    with requests.Session() as session:
        for _ in range(2):
            answer = session.get(
                f"{box.url}/inbox/direct/chats",
                params={"botId": BOT, "customerId": CUSTOMER, "page": "1", "type": "lead"},
                headers={"x-bot-token": TOKEN},
                timeout=5,
            )
            assert answer.status_code == 200
    assert nodelay and all(nodelay)


def test_control_endpoints(box):
    put(box, {"status": "OPEN"})
    headers = {"x-bot-token": TOKEN}
    assert requests.get(f"{box.url}/_sandbox/health", timeout=5).status_code == 401
    log = requests.get(f"{box.url}/_sandbox/requests", headers=headers, timeout=5).json()
    assert log[-1]["method"] == "PUT" and log[-1]["headers"]["x-bp-token"] == "***"
    assert TOKEN not in json.dumps(log)
    chat = requests.get(f"{box.url}/_sandbox/chats/u-1", headers=headers, timeout=5)
    assert chat.json()["status"] == "OPEN"
    config = requests.post(
        f"{box.url}/_sandbox/config", json={"fail_puts": True}, headers=headers, timeout=5
    ).json()
    assert config["fail_puts"] is True and box.sandbox.fail_puts is True
    assert put(box, {"status": "CLOSED"}).status_code == 503


def test_state_file_keeps_edits_across_restarts(tmp_path):
    state = str(tmp_path / "state.json")
    first = Sandbox(token=TOKEN, bot_id=BOT, customer_id=CUSTOMER, state_file=state)
    with first.serve() as running:
        put(running, {"status": "ONHOLD"})
    second = Sandbox(token=TOKEN, bot_id=BOT, customer_id=CUSTOMER, state_file=state)
    assert second.get_chat("u-1")["status"] == "ONHOLD"


def test_seed_is_deterministic_and_varied():
    a = [c["uuid"] for c, _ in make_chats(50, seed=9)]
    assert a == [c["uuid"] for c, _ in make_chats(50, seed=9)]
    chats = make_chats(500, seed=1)
    leads = [c for c, is_lead in chats if is_lead]
    assert 250 < len(leads) < 450
    assert {c.get("status") for c in leads} == {
        "OPEN",
        "INPROGRESS",
        "REVIEW",
        "ONHOLD",
        "DEPENDANCY",
        "CLOSED",
    }
    text = json.dumps([c for c, _ in chats], ensure_ascii=False)
    for sample in ("<script>", "प्रि", "மீரா", "عمر", "王", "Иван", "=HYPERLINK", "javascript:"):
        assert sample in text, sample
    no_contact = [
        c
        for c, _ in chats
        if not isinstance((c["profile"] or {}).get("userDetails"), dict)
        or "contact" not in c["profile"]["userDetails"]
    ]
    assert len(no_contact) > 50


def test_the_state_file_is_written_soon_after_a_put_not_on_each_one(tmp_path, monkeypatch):
    from leads.botpenguin.sandbox import state as state_module

    monkeypatch.setattr(state_module, "SAVE_DELAY", 0.3)
    state = tmp_path / "state.json"
    box = Sandbox(token=TOKEN, bot_id=BOT, customer_id=CUSTOMER, state_file=str(state))
    with box.serve() as running:
        for status in ("ONHOLD", "REVIEW", "CLOSED"):
            assert put(running, {"status": status}).status_code == 200
        assert not state.exists()  # not written on each PUT
        deadline = time.monotonic() + 5
        while not state.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        written = state.stat().st_mtime_ns
        again = Sandbox(token=TOKEN, bot_id=BOT, customer_id=CUSTOMER, state_file=str(state))
        assert again.get_chat("u-1")["status"] == "CLOSED"  # one write, after the last PUT
        time.sleep(0.6)
        assert state.stat().st_mtime_ns == written  # and no other


def test_ignore_puts_accepts_and_changes_nothing(box):
    put(box, {"status": "OPEN"})
    headers = {"x-bot-token": TOKEN}
    config = requests.post(
        f"{box.url}/_sandbox/config", json={"ignore_puts": True}, headers=headers, timeout=5
    ).json()
    assert config["ignore_puts"] is True

    response = put(box, {"status": "CLOSED"})

    assert response.status_code == 200 and response.json()["success"] is True
    chat = requests.get(f"{box.url}/_sandbox/chats/u-1", headers=headers, timeout=5).json()
    assert chat["status"] == "OPEN"
    box.sandbox.ignore_puts = False
    put(box, {"status": "CLOSED"})
    chat = requests.get(f"{box.url}/_sandbox/chats/u-1", headers=headers, timeout=5).json()
    assert chat["status"] == "CLOSED"
