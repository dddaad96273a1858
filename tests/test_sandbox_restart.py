"""Stopping the sandbox (the load test's outage) keeps every PUT it answered 200 in its state
file, so a restarted sandbox holds every edit BotPanel was told was applied."""

import json
import threading
import time

import requests

from leads.botpenguin.sandbox.server import Sandbox

TOKEN = "restart-token"
BOT, CUSTOMER = "bot-1", "cust-1"


def sandbox(state_file: str, latency_ms: int = 0) -> Sandbox:
    return Sandbox(
        token=TOKEN, bot_id=BOT, customer_id=CUSTOMER, latency_ms=latency_ms, state_file=state_file
    )


def put_status(url: str, status: str, session: requests.Session | None = None):
    body = {"uuid": "u-1", "botId": BOT, "customerId": CUSTOMER, "status": status}
    return (session or requests).put(
        f"{url}/inbox/direct/lead",
        data=json.dumps(body),
        headers={"x-bp-token": TOKEN},
        timeout=5,
    )


def test_a_put_in_flight_when_the_sandbox_stops_is_answered_and_kept(tmp_path):
    state = str(tmp_path / "state.json")
    first = sandbox(state)
    first.add_chat({"uuid": "u-1", "status": "OPEN"})
    running = first.serve()
    first.latency_ms = 400  # the PUT below is still waiting when the stop begins
    answers = []
    thread = threading.Thread(target=lambda: answers.append(put_status(running.url, "CLOSED")))
    thread.start()
    time.sleep(0.15)
    running.shutdown()
    thread.join(5)
    assert [a.status_code for a in answers] == [200]
    assert sandbox(state).get_chat("u-1")["status"] == "CLOSED"


def test_a_request_on_a_kept_alive_connection_after_the_stop_began_is_refused(tmp_path):
    state = str(tmp_path / "state.json")
    first = sandbox(state)
    first.add_chat({"uuid": "u-1", "status": "OPEN"})
    running = first.serve()
    session = requests.Session()
    assert put_status(running.url, "REVIEW", session).status_code == 200
    first.latency_ms = 400
    slow = threading.Thread(target=lambda: put_status(running.url, "ONHOLD"))
    slow.start()  # keeps the stop waiting while the kept-alive connection asks again
    time.sleep(0.15)
    stopping = threading.Thread(target=running.shutdown)
    stopping.start()
    time.sleep(0.1)
    late = put_status(running.url, "CLOSED", session)
    stopping.join(5)
    slow.join(5)
    assert late.status_code == 503
    assert sandbox(state).get_chat("u-1")["status"] == "ONHOLD"
