"""The sandbox serving several bots on one port: each token reaches its own bot's chats only,
and a token is refused (401, as for a wrong token) for another bot's IDs."""

import json
import os
import subprocess
import sys

import pytest
import requests

from leads.botpenguin.sandbox.http import RunningSandbox
from leads.botpenguin.sandbox.server import Sandbox
from leads.botpenguin.sandbox.several import SeveralBots, parse_bot_spec, state_file_for
from tests.factories import ROOT

BOTS = {"one": ("tok-one", "cust-one"), "two": ("tok-two", "cust-two")}


@pytest.fixture
def served():
    bots = [
        Sandbox(token=token, bot_id=bot_id, customer_id=customer, seed=i + 1)
        for i, (bot_id, (token, customer)) in enumerate(BOTS.items())
    ]
    bots[0].seed_chats(6)
    bots[1].seed_chats(4)
    with RunningSandbox(SeveralBots(bots)) as running:
        yield running, bots


def listing(url, token, bot_id, kind="lead", page=1):
    customer = BOTS.get(bot_id, ("", "cust-one"))[1]
    return requests.get(
        f"{url}/inbox/direct/chats",
        params={"botId": bot_id, "customerId": customer, "page": page, "type": kind},
        headers={"x-bot-token": token},
        timeout=5,
    )


def put(url, token, bot_id, uuid, **fields):
    body = {"uuid": uuid, "botId": bot_id, "customerId": BOTS[bot_id][1], **fields}
    return requests.put(
        f"{url}/inbox/direct/lead", data=json.dumps(body), headers={"x-bp-token": token}, timeout=5
    )


def all_uuids(url, token, bot_id) -> set[str]:
    found = set()
    for kind in ("lead", "non-lead"):
        response = listing(url, token, bot_id, kind)
        assert response.status_code == 200
        found |= {chat["uuid"] for chat in response.json()["data"]}
    return found


def test_each_token_lists_its_own_bots_chats(served):
    running, (one, two) = served
    ones = all_uuids(running.url, "tok-one", "one")
    twos = all_uuids(running.url, "tok-two", "two")
    assert ones == {chat["uuid"] for chat in one.chats()} and len(ones) == 6
    assert twos == {chat["uuid"] for chat in two.chats()} and len(twos) == 4
    assert not ones & twos  # seeded with another seed: other uuids


def test_a_token_is_refused_for_another_bots_ids(served):
    running, (one, two) = served
    response = listing(running.url, "tok-one", "two")
    assert response.status_code == 401
    assert response.json() == {
        "success": False,
        "message": "This x-bot-token is not valid for bot two",
        "code": 401,
    }
    uuid = two.chats()[0]["uuid"]
    assert put(running.url, "tok-one", "two", uuid, status="CLOSED").status_code == 401
    assert two.puts() == [] and one.puts() == []
    assert listing(running.url, "tok-nobody", "one").status_code == 401
    # An ID no bot has is the token's own bot's business: 400 as for one bot.
    assert listing(running.url, "tok-one", "three").status_code == 400


def test_a_put_reaches_only_the_bot_of_its_token(served):
    running, (one, two) = served
    uuid = two.chats()[0]["uuid"]
    assert put(running.url, "tok-two", "two", uuid, status="CLOSED").status_code == 200
    assert two.get_chat(uuid)["status"] == "CLOSED"
    assert [r.body["uuid"] for r in two.puts()] == [uuid]
    assert one.puts() == [] and one.get_chat(uuid) is None


def test_each_bot_needs_its_own_token_and_bot_id():
    with pytest.raises(ValueError, match="own token"):
        SeveralBots([Sandbox(token="t", bot_id="a"), Sandbox(token="t", bot_id="b")])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("t:b:c", ("t", "b", "c", None)),
        ("t:b:c:25", ("t", "b", "c", 25)),
    ],
)
def test_a_bot_spec_reads_token_ids_and_chats(text, expected):
    spec = parse_bot_spec(text)
    assert (spec.token, spec.bot_id, spec.customer_id, spec.chats) == expected


@pytest.mark.parametrize("text", ["t:b", "t::c", "t:b:c:many", "t:b:c:1:2"])
def test_a_bad_bot_spec_says_what_is_wrong(text):
    with pytest.raises(ValueError, match="TOKEN:BOTID:CUSTOMERID|whole number"):
        parse_bot_spec(text)


def test_another_bots_state_file_sits_beside_the_first():
    assert state_file_for("var/state.json", "wa/bot 1") == "var/state.wa_bot_1.json"
    assert state_file_for(None, "x") is None


def test_the_command_serves_the_extra_bots_on_the_same_port(tmp_path):
    env = {**os.environ, "BOTPANEL_TESTING": "1", "LOG_LEVEL": "WARNING"}
    args = ["--port", "0", "--chats", "5", "--token", "tok-one", "--bot-id", "one"]
    args += ["--customer-id", "cust-one", "--bot", "tok-two:two:cust-two:3"]
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "botpenguin_sandbox", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = child.stdout.readline()
        second = child.stdout.readline()
        assert "— 5 chats" in first and second.strip() == "and bot two (customer cust-two): 3 chats"
        url = first.split(" on ")[1].split(" ")[0]
        ones, twos = all_uuids(url, "tok-one", "one"), all_uuids(url, "tok-two", "two")
        assert len(ones) == 5 and len(twos) == 3 and not ones & twos
        assert listing(url, "tok-two", "one").status_code == 401
    finally:
        child.terminate()
        child.communicate(timeout=30)
