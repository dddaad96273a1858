"""The client against a hostile server on a loopback port: redirects are never followed (the
other host receives nothing), answers are bounded in size once decompressed, and a call ends at
its deadline however slowly the server drips."""

import time
import tracemalloc

import pytest
import requests

from leads import delivery, services
from leads.botpenguin.client import BotPenguinClient, ClientConfig
from leads.botpenguin.errors import MalformedResponse, Redirected, Unavailable
from leads.bots.config import client_for
from leads.models import Bot, Lead, LeadChange
from leads.services.edits import EditFailed
from tests.factories import make_lead, point_settings_at
from tests.hostile import Answer, HostileServer, gzip_bomb, ok

TOKEN = "tok-HOSTILE-456"
MB = 1024 * 1024


@pytest.fixture
def server():
    with HostileServer() as hostile:
        yield hostile


@pytest.fixture
def elsewhere():
    """The other host a redirect points to."""
    with HostileServer() as other:
        yield other


def make_client(url: str, **overrides) -> BotPenguinClient:
    config = dict(
        base_url=url, token=TOKEN, bot_id="bot1", customer_id="cust1", retries=3, backoff_factor=0
    )
    config.update(overrides)
    return BotPenguinClient(ClientConfig(**config))


def redirect(status: int, elsewhere: HostileServer) -> Answer:
    target = f"{elsewhere.url}/inbox/direct/chats?secret=query-{TOKEN}"
    return Answer(status, {"Location": target})


def test_the_redirect_setup_would_reach_the_other_host(server, elsewhere):
    """What the tests below prevent: an ordinary requests call follows the 301 elsewhere."""
    server.answers.append(redirect(301, elsewhere))
    requests.get(server.url, headers={"x-bot-token": TOKEN}, timeout=5)
    assert [seen.headers.get("x-bot-token") for seen in elsewhere.requests] == [TOKEN]


def test_a_get_answered_301_is_refused_and_the_other_host_receives_nothing(server, elsewhere):
    server.answers.append(redirect(301, elsewhere))
    with make_client(server.url) as client, pytest.raises(Redirected) as excinfo:
        client.list_chats(1, "lead")
    assert str(excinfo.value) == (
        "BotPenguin answered with a redirect (HTTP 301) to 127.0.0.1; it was not followed"
    )
    assert excinfo.value.status == 301 and excinfo.value.transient is False
    assert elsewhere.requests == []
    assert len(server.requests) == 1  # never retried, though retries=3


@pytest.mark.parametrize("status", [302, 303, 307, 308])
def test_no_redirect_of_a_put_is_followed(server, elsewhere, status):
    server.answers.append(redirect(status, elsewhere))
    with make_client(server.url) as client, pytest.raises(Redirected, match=f"HTTP {status}"):
        client.put_lead({"uuid": "u1", "status": "CLOSED"})
    assert elsewhere.requests == [] and len(server.requests) == 1


def test_a_redirect_names_only_the_host_and_never_the_token(server):
    server.answers += [
        Answer(301, {"Location": f"https://{TOKEN}.evil.test/x?token={TOKEN}"}),
        Answer(302, {"Location": "/login?next=/inbox"}),
        Answer(302),
    ]
    messages = []
    with make_client(server.url, retries=0) as client:
        for _ in range(3):
            with pytest.raises(Redirected) as excinfo:
                client.list_chats(1, "lead")
            messages.append(str(excinfo.value))
    assert [m.split(" to ", 1)[1] for m in messages] == [
        "***.evil.test; it was not followed",
        "the same host; it was not followed",
        "no address; it was not followed",
    ]


@pytest.fixture
def edits_go_to(settings):
    def point(url: str):
        point_settings_at(settings, url, TOKEN)

    return point


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("status", [301, 307, 308])
def test_an_edit_answered_with_a_redirect_is_refused_and_put_back(
    server, elsewhere, edits_go_to, user, status
):
    """A person's edit answered 3xx is shown as refused and the mirror put back, as for a 400."""
    edits_go_to(server.url)
    server.answers.append(redirect(status, elsewhere))
    lead = make_lead(1)
    with pytest.raises(EditFailed) as excinfo:
        services.lead_set_status(lead=lead, status="CLOSED", user=user)
    message = (
        f"BotPenguin answered with a redirect (HTTP {status}) to 127.0.0.1; it was not followed"
    )
    assert excinfo.value.message == message
    change = LeadChange.objects.get(lead=lead)
    assert change.state == LeadChange.State.DISCARDED and change.delivered_at is None
    assert Lead.objects.get(pk=lead.pk).status == "OPEN"
    assert [seen.method for seen in server.requests] == ["PUT"]
    assert elsewhere.requests == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("status", [301, 307, 308])
def test_a_queued_edit_answered_with_a_redirect_fails_and_waits_for_a_person(
    server, elsewhere, edits_go_to, user, status
):
    edits_go_to(server.url)
    server.answers += [Answer(503), redirect(status, elsewhere)]
    lead = make_lead(1)
    change = services.lead_set_status(lead=lead, status="CLOSED", user=user)
    assert change.state == LeadChange.State.PENDING  # BotPenguin was down while the person waited
    outcome = delivery.deliver_lead(lead.pk, force=True)
    change.refresh_from_db()
    assert outcome.state == "failed"
    assert change.state == LeadChange.State.FAILED and change.delivered_at is None
    assert change.last_http_status == status
    assert change.last_error == (
        f"BotPenguin answered with a redirect (HTTP {status}) to 127.0.0.1; it was not followed"
    )
    assert Lead.objects.get(pk=lead.pk).change_state == "failed"
    assert [seen.method for seen in server.requests] == ["PUT", "PUT"]
    assert elsewhere.requests == []
    # A later sweep does not send it again: a person retries or discards it.
    assert delivery.deliver_lead(lead.pk, force=True).state == "failed"
    assert len(server.requests) == 2


def test_an_answer_over_the_size_limit_is_refused(server):
    server.answers.append(Answer(body=b'{"data": ["' + b"x" * (2 * MB) + b'"]}'))
    with make_client(server.url, max_response_bytes=MB) as client:
        with pytest.raises(MalformedResponse) as excinfo:
            client.list_chats(1, "lead")
    assert str(excinfo.value) == "the answer is larger than 1 MB"
    assert len(server.requests) == 1  # not retried


def test_an_answer_at_the_size_limit_is_read(server):
    filler = b"x" * (MB - 100)
    body = b'{"data": ["' + filler + b'"]}'
    server.answers.append(Answer(body=body + b" " * (MB - len(body))))
    with make_client(server.url, max_response_bytes=MB) as client:
        assert client.list_chats(1, "lead") == [filler.decode()]


def test_a_gzip_bomb_is_refused_early_with_bounded_memory(server):
    bomb = gzip_bomb(50 * MB)
    assert len(bomb.body) < MB  # 50 MB once inflated
    server.answers.append(bomb)
    with make_client(server.url, max_response_bytes=MB) as client:
        tracemalloc.start()
        try:
            with pytest.raises(MalformedResponse, match="larger than 1 MB"):
                client.list_chats(1, "lead")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 8 * MB


def test_gzip_answers_are_accepted(server):
    server.answers.append(Answer(json={"data": [{"uuid": "u1"}]}, gzip=True))
    with make_client(server.url) as client:
        assert client.list_chats(1, "lead") == [{"uuid": "u1"}]
    assert "gzip" in server.requests[0].headers["Accept-Encoding"]


def test_a_refused_answer_closes_its_connection_a_good_one_keeps_it(server):
    server.answers += [ok(), ok(), Answer(body=b"x" * (2 * MB)), ok()]
    ports = []
    with make_client(server.url, max_response_bytes=MB) as client:
        for _ in range(4):
            try:
                client.list_chats(1, "lead")
            except MalformedResponse:
                pass
            ports.append(server.requests[-1].client_port)
    assert ports[0] == ports[1] == ports[2] != ports[3]


def test_a_dripping_answer_ends_at_the_deadline(server):
    server.answers.append(Answer(body=b'{"data": []}' * 10, drip=1.0))
    started = time.monotonic()
    with make_client(server.url, read_timeout=2, retries=0) as client:
        with pytest.raises(Unavailable) as excinfo:
            client.list_chats(1, "lead")
    elapsed = time.monotonic() - started
    assert str(excinfo.value) == "BotPenguin is unavailable: timed out after 2s"
    assert 1.9 <= elapsed <= 2.6


def test_retries_are_bounded_by_one_deadline_per_attempt(server):
    server.default = Answer(body=b'{"data": []}' * 10, drip=0.4)
    started = time.monotonic()
    with make_client(server.url, read_timeout=1, retries=2) as client:
        with pytest.raises(Unavailable, match="timed out after 1s"):
            client.list_chats(1, "lead")
    elapsed = time.monotonic() - started
    assert len(server.requests) == 3
    assert 2.9 <= elapsed <= 3.8  # (retries + 1) x read_timeout, no backoff configured


@pytest.mark.django_db(transaction=True)
def test_a_person_waits_at_most_the_edit_timeout(server, edits_go_to, user):
    edits_go_to(server.url)
    server.answers.append(Answer(json={"success": True, "message": "ok" * 50}, drip=1.0))
    started = time.monotonic()
    change = services.lead_set_status(lead=make_lead(1), status="CLOSED", user=user)
    elapsed = time.monotonic() - started
    change.refresh_from_db()
    assert change.state == LeadChange.State.PENDING  # retried later by the worker
    assert change.last_error == "BotPenguin is unavailable: timed out after 2s"
    assert 1.9 <= elapsed <= 2.8


def test_the_size_limit_comes_from_the_setting(server, edits_go_to, settings):
    edits_go_to(server.url)
    settings.BOTPENGUIN_MAX_RESPONSE_MB = 0.5
    server.answers += [Answer(body=b" " * MB), Answer(json={"data": ["x" * (MB // 4)]})]
    with client_for(Bot(from_environment=True)) as client:
        with pytest.raises(MalformedResponse, match=r"^the answer is larger than 0.5 MB$"):
            client.list_chats(1, "lead")
        assert client.list_chats(1, "lead") == ["x" * (MB // 4)]
