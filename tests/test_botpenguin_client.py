"""The API client, with `responses` (no real HTTP), plus a loopback server for the retry timing."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import responses
from hypothesis import given, settings
from hypothesis import strategies as st
from responses import matchers

from leads.botpenguin.client import BotPenguinClient, ClientConfig, parse_retry_after
from leads.botpenguin.errors import (
    AuthRejected,
    BotPenguinError,
    MalformedResponse,
    Unavailable,
    ValidationRejected,
)

BASE = "https://api.example.test"
TOKEN = "tok-SECRET-123"
LIST_URL = f"{BASE}/inbox/direct/chats"
PUT_URL = f"{BASE}/inbox/direct/lead"
OK = {"success": True, "message": "ok", "code": 200}


def make_client(**overrides) -> BotPenguinClient:
    config = dict(
        base_url=BASE + "/",
        token=TOKEN,
        bot_id="bot1",
        customer_id="cust1",
        retries=2,
        backoff_factor=0,
    )
    config.update(overrides)
    return BotPenguinClient(ClientConfig(**config))


@responses.activate
def test_list_chats_sends_the_get_header_and_every_query_parameter():
    responses.get(
        LIST_URL,
        json={**OK, "data": [{"uuid": "u1"}]},
        match=[
            matchers.query_param_matcher(
                {"botId": "bot1", "customerId": "cust1", "page": "3", "type": "non-lead"}
            ),
            matchers.header_matcher({"x-bot-token": TOKEN}),
        ],
    )
    assert make_client().list_chats(3, "non-lead") == [{"uuid": "u1"}]
    sent = responses.calls[0].request.headers
    assert "x-bp-token" not in sent


@responses.activate
def test_put_lead_sends_the_put_header_and_the_json_body():
    body = {"uuid": "u1", "botId": "bot1", "customerId": "cust1", "status": "CLOSED"}
    responses.put(
        PUT_URL,
        json=OK,
        match=[matchers.json_params_matcher(body), matchers.header_matcher({"x-bp-token": TOKEN})],
    )
    assert make_client().put_lead(body) == OK
    sent = responses.calls[0].request
    assert "x-bot-token" not in sent.headers
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.body) == body


@responses.activate
def test_every_call_passes_connect_and_read_timeouts():
    responses.get(LIST_URL, json={**OK, "data": []})
    responses.put(PUT_URL, json=OK)
    client = make_client(connect_timeout=1.5, read_timeout=7)
    client.list_chats(1, "lead")
    client.put_lead({"uuid": "u"})
    # The connection gets 1.5 s at most, and connect plus headers 7 s together (a deadline per
    # call, see test_client_hostile.py for the body).
    timeouts = [call.request.req_kwargs["timeout"] for call in responses.calls]
    assert [(t.connect_timeout, t.total) for t in timeouts] == [(1.5, 7), (1.5, 7)]
    assert [call.request.req_kwargs["stream"] for call in responses.calls] == [True, True]


@pytest.mark.parametrize("status", [401, 403])
@responses.activate
def test_auth_rejected(status):
    responses.get(LIST_URL, status=status, json={"success": False, "message": "Invalid token"})
    with pytest.raises(AuthRejected) as excinfo:
        make_client().list_chats(1, "lead")
    assert excinfo.value.status == status
    assert str(excinfo.value) == f"BotPenguin rejected the API token (HTTP {status}): Invalid token"
    assert excinfo.value.transient is False


@responses.activate
def test_validation_rejected_carries_the_api_message():
    responses.put(PUT_URL, status=400, json={"success": False, "message": "email: is invalid"})
    with pytest.raises(ValidationRejected) as excinfo:
        make_client().put_lead({"uuid": "u"})
    assert excinfo.value.api_message == "email: is invalid"
    assert excinfo.value.status == 400
    assert "email: is invalid" in str(excinfo.value)


@responses.activate
def test_undocumented_400_body_shows_status_and_text():
    responses.put(PUT_URL, status=400, body="Bad things\nhappened")
    with pytest.raises(ValidationRejected, match=r"HTTP 400\): Bad things happened"):
        make_client().put_lead({"uuid": "u"})


@responses.activate
def test_success_false_in_a_200_is_a_refusal():
    responses.put(PUT_URL, json={"success": False, "message": "nope"})
    with pytest.raises(ValidationRejected, match="nope"):
        make_client().put_lead({"uuid": "u"})


@responses.activate
def test_5xx_is_retried_then_unavailable():
    responses.get(LIST_URL, status=503, json={"success": False, "message": "down"})
    with pytest.raises(Unavailable) as excinfo:
        make_client(retries=2).list_chats(1, "lead")
    assert len(responses.calls) == 3  # first try + 2 retries
    assert excinfo.value.status == 503 and excinfo.value.transient is True


@responses.activate
def test_5xx_then_success_returns_the_data():
    responses.get(LIST_URL, status=502)
    responses.get(LIST_URL, status=503)
    responses.get(LIST_URL, json={**OK, "data": [{"uuid": "x"}]})
    assert make_client(retries=3).list_chats(1, "lead") == [{"uuid": "x"}]
    assert len(responses.calls) == 3


@responses.activate
def test_400_is_not_retried():
    responses.put(PUT_URL, status=400, json={"message": "bad"})
    with pytest.raises(ValidationRejected):
        make_client(retries=3).put_lead({"uuid": "u"})
    assert len(responses.calls) == 1


@responses.activate
def test_429_after_retries_is_unavailable_with_retry_after(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)
    responses.put(PUT_URL, status=429, headers={"Retry-After": "7"}, json={"message": "slow"})
    with pytest.raises(Unavailable) as excinfo:
        make_client(retries=1).put_lead({"uuid": "u"})
    assert excinfo.value.retry_after == 7.0
    assert excinfo.value.status == 429


@responses.activate
def test_connection_error_is_unavailable():
    responses.get(LIST_URL, body=requests.ConnectionError("Connection refused"))
    with pytest.raises(Unavailable, match="connection refused"):
        make_client(retries=0).list_chats(1, "lead")


@responses.activate
def test_timeout_is_unavailable():
    responses.get(LIST_URL, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(Unavailable, match="timed out"):
        make_client(retries=0, read_timeout=4).list_chats(1, "lead")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"body": "<html>gateway</html>"},
        {"json": [1, 2]},
        {"json": {"success": True}},
        {"json": {"success": True, "data": None}},
        {"json": {"success": True, "data": {"uuid": "x"}}},
    ],
)
@responses.activate
def test_malformed_list_answers(kwargs):
    responses.get(LIST_URL, status=200, **kwargs)
    with pytest.raises(MalformedResponse):
        make_client().list_chats(1, "lead")


# Any JSON value, as BotPenguin could send it.
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    data=st.lists(_json, max_size=6),
    before=st.dictionaries(st.text(max_size=8).filter(lambda k: k != "data"), _json, max_size=3),
    indent=st.sampled_from([None, 1, "\t"]),
    ascii_only=st.booleans(),
)
def test_a_listing_is_decoded_as_the_standard_library_decodes_it(data, before, indent, ascii_only):
    text = json.dumps({**before, "data": data}, indent=indent, ensure_ascii=ascii_only)
    with responses.RequestsMock() as mock:
        mock.get(LIST_URL, body=text.encode(), content_type="application/json")
        assert make_client().list_chats(1, "lead") == json.loads(text)["data"]


@pytest.mark.parametrize(
    "body, data",
    [
        (b'{"data": []}', []),
        (b' \n{ "success" : true , "data" : [ {"uuid": "a"} , 2 ] }\n ', [{"uuid": "a"}, 2]),
        (b'\xef\xbb\xbf{"data": ["with a byte order mark"]}', ["with a byte order mark"]),
        (b'{"data": [1], "data": [2]}', [2]),
    ],
)
@responses.activate
def test_odd_but_valid_listings(body, data):
    responses.get(LIST_URL, body=body, content_type="application/json")
    assert make_client().list_chats(1, "lead") == data


@pytest.mark.parametrize(
    "body",
    [
        b'{"data": [1,]}',
        b'{"data": [1',
        b"<html>",
        b'{"a": 1} x',
        b'{"data": {"uuid": "a"}}',
        b'{"data": [1], "data": null}',
        b"[1, 2]",
    ],
)
@responses.activate
def test_a_listing_that_is_not_json_or_has_no_data_list_is_malformed(body):
    responses.get(LIST_URL, body=body, content_type="application/json")
    with pytest.raises(MalformedResponse):
        make_client().list_chats(1, "lead")


def test_bad_arguments_and_urls():
    with pytest.raises(ValueError):
        make_client().list_chats(1, "everything")
    with pytest.raises(ValueError):
        make_client().list_chats(0, "lead")
    with pytest.raises(ValueError):
        make_client(base_url="ftp://example.org")


@responses.activate
def test_the_token_never_appears_in_errors_or_reprs():
    # Even an API that echoes the token back does not get it into a message.
    responses.get(LIST_URL, status=401, json={"message": f"bad token {TOKEN}"})
    client = make_client()
    assert TOKEN not in repr(client) and TOKEN not in repr(client.config)
    with pytest.raises(BotPenguinError) as excinfo:
        client.list_chats(1, "lead")
    assert TOKEN not in str(excinfo.value)
    assert "bad token ***" in str(excinfo.value)


def test_parse_retry_after():
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert 0 <= parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") <= 1


class _Flaky(BaseHTTPRequestHandler):
    """429 with Retry-After, then 200: exercises urllib3's real Retry-After handling."""

    answers: list = []
    log_message = lambda *a: None  # noqa: E731

    def do_GET(self):
        status, headers = self.answers.pop(0) if self.answers else (200, {})
        payload = json.dumps({**OK, "data": []} if status == 200 else {"message": "x"}).encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def flaky_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_retry_after_is_honoured_and_capped(flaky_server, monkeypatch):
    slept = []
    monkeypatch.setattr("urllib3.util.retry.time.sleep", slept.append)
    _Flaky.answers = [(429, {"Retry-After": "2"}), (503, {"Retry-After": "3600"}), (200, {})]
    client = make_client(
        base_url=f"http://127.0.0.1:{flaky_server.server_address[1]}",
        retries=3,
        max_retry_after=5,
    )
    assert client.list_chats(1, "lead") == []
    assert slept == [2.0, 5.0]
