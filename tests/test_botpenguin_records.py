"""Parsing chats and building PUT bodies: the documented example, every tolerant case, and a
property test that arbitrary JSON never raises anything but the parser's own error."""

import copy
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leads.botpenguin.records import (
    MAX_DEPTH,
    ChatRecord,
    ParseError,
    build_put_body,
    decode_json,
    normalise_dial_code,
    parse_chat,
    parse_datetime,
    record_to_put_body,
    repaired,
    too_deep,
)
from leads.botpenguin.safety import safe_http_url
from tests.factories import EXAMPLE_CHAT


def test_the_documented_example():
    record = parse_chat(copy.deepcopy(EXAMPLE_CHAT))
    assert record == ChatRecord(
        uuid="0b7c6a52-4a8e-4f6e-9c1d-2f1d5e9a7c11",
        remote_id="64b0c0ffee0000000000abcd",
        name="Meera Iyer",
        email="meera@example.org",
        phone="9876543210",
        dial_code="+91",
        picture="https://cdn.example.org/u/meera.png",
        status="INPROGRESS",
        agent_id="64a1a9d0aa00000000000042",
        tags=["pricing", "hot"],
        notes=[
            {
                "id": "64b0c1000000000000000001",
                "title": "Pricing",
                "description": "Asked for the annual plan",
            }
        ],
        attributes=[{"key": "plan", "value": "annual"}],
        city="Chennai",
        country="India",
        gender="FEMALE",
        last_message_at=datetime(2026, 10, 3, 11, 39, 58, tzinfo=UTC),
        last_message_by="bot",
        last_message_text="Thanks! An agent will call you.",
        last_seen_at=datetime(2026, 10, 3, 11, 39, 58, tzinfo=UTC),
        is_online=False,
        website_visits=3,
        created_at=datetime(2026, 10, 2, 9, 14, 5, 120000, tzinfo=UTC),
        updated_at=datetime(2026, 10, 3, 11, 40, 0, 4000, tzinfo=UTC),
        raw=EXAMPLE_CHAT,
    )


@pytest.mark.parametrize(
    "chat",
    [
        {"uuid": "u"},
        {"uuid": "u", "profile": None},
        {"uuid": "u", "profile": {"userDetails": None, "notes": None}},
        {"uuid": "u", "profile": {"userDetails": {"contact": None}}},
        {"uuid": "u", "profile": {"userDetails": {"contact": {"phone": None}}}},
        {"uuid": "u", "lastMessage": None, "profile": []},
        {"uuid": "u", "profile": {"userDetails": "nonsense"}},
    ],
)
def test_missing_or_null_nested_objects_give_empty_fields(chat):
    record = parse_chat(chat)
    assert record.uuid == "u"
    assert (record.name, record.email, record.phone, record.dial_code) == ("", "", "", "")
    assert record.tags == [] and record.notes == [] and record.attributes == []
    assert record.last_message_at is None and record.status == ""


def test_numbers_where_strings_are_expected():
    record = parse_chat(
        {
            "uuid": "12345",
            "websiteVisits": "7",
            "profile": {
                "userDetails": {
                    "name": 42,
                    "tags": [1, "a", True, None, {"x": 1}, 2.0],
                    "contact": {"phone": {"number": 9876543210, "prefix": 91}},
                    "attributes": [{"key": "age", "value": 30}, {"value": "no key"}],
                }
            },
        }
    )
    assert record.uuid == "12345" and record.name == "42"
    assert record.phone == "9876543210" and record.dial_code == "+91"
    assert record.tags == ["1", "a", "2"]
    assert record.attributes == [{"key": "age", "value": "30"}]
    assert record.website_visits == 7


def test_bools_are_not_strings():
    record = parse_chat({"uuid": "u", "profile": {"userDetails": {"name": True}}})
    assert record.name == ""


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("+91 98765 43210", ("+91 98765 43210", "")),
        (9876543210, ("9876543210", "")),
        ({"number": "555", "prefix": "+1"}, ("555", "+1")),
        ({"number": "555", "prefix": "1"}, ("555", "+1")),
        ({"number": "555", "prefix": "junk"}, ("555", "")),
    ],
)
def test_phone_shapes(phone, expected):
    record = parse_chat({"uuid": "u", "profile": {"userDetails": {"contact": {"phone": phone}}}})
    assert (record.phone, record.dial_code) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("91", "+91"),
        ("+91", "+91"),
        (91, "+91"),
        (" +1 ", "+1"),
        ("", ""),
        (None, ""),
        ("+12345", ""),
        ("abc", ""),
        (True, ""),
    ],
)
def test_normalise_dial_code(value, expected):
    assert normalise_dial_code(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-10-03T11:40:00.004Z", datetime(2026, 10, 3, 11, 40, 0, 4000, tzinfo=UTC)),
        ("2026-10-03T13:40:00+02:00", datetime(2026, 10, 3, 11, 40, tzinfo=UTC)),
        ("2026-10-03T11:40:00", datetime(2026, 10, 3, 11, 40, tzinfo=UTC)),
        (1791020400000, datetime(2026, 10, 3, 9, 40, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (None, None),
        (True, None),
        (1e300, None),
        ({"$date": 1}, None),
    ],
)
def test_parse_datetime(value, expected):
    assert parse_datetime(value) == expected


def test_agent_may_be_null_a_string_or_an_object():
    assert parse_chat({"uuid": "u", "_agentAssigned": None}).agent_id == ""
    assert parse_chat({"uuid": "u", "_agentAssigned": "a1"}).agent_id == "a1"
    assert parse_chat({"uuid": "u", "_agentAssigned": {"_id": "a2", "name": "X"}}).agent_id == "a2"


def test_tags_are_deduplicated_ignoring_case_and_notes_without_id_are_kept():
    record = parse_chat(
        {
            "uuid": "u",
            "status": "closed",
            "profile": {
                "notes": [{"title": "T"}, "junk", {"_id": "n2", "title": "U", "description": 5}],
                "userDetails": {"tags": ["Hot", "hot", " HOT ", "cold", ""]},
            },
        }
    )
    assert record.tags == ["Hot", "cold"]
    assert record.notes == [
        {"id": "", "title": "T", "description": ""},
        {"id": "n2", "title": "U", "description": "5"},
    ]
    assert record.status == "CLOSED"


def test_unknown_status_is_empty_and_online_is_strict():
    record = parse_chat({"uuid": "u", "status": "WON", "isOnline": "yes"})
    assert record.status == "" and record.is_online is False
    assert parse_chat({"uuid": "u", "isOnline": "true"}).is_online is True


@pytest.mark.parametrize("obj", [None, [], "uuid", 5, {"uuid": ""}, {"uuid": None}, {"id": "x"}])
def test_not_a_chat(obj):
    with pytest.raises(ParseError):
        parse_chat(obj)


@pytest.mark.parametrize(
    ("uuid", "reason"),
    [
        (12345, "a uuid that is not a string (int)"),
        (True, "a uuid that is not a string (bool)"),
        ("  ", "a chat without a uuid"),
        ("pad\x00ded", "a uuid with a NUL or an unencodable character"),
        ("cut\ud83d", "a uuid with a NUL or an unencodable character"),
        ("u" * 256, "a uuid longer than 255 characters"),
    ],
)
def test_a_uuid_that_cleaning_could_merge_with_another_is_refused(uuid, reason):
    with pytest.raises(ParseError) as excinfo:
        parse_chat({"uuid": uuid})
    assert str(excinfo.value) == reason


def test_a_uuid_is_taken_exactly_as_sent():
    assert parse_chat({"uuid": " padded "}).uuid == " padded "
    assert parse_chat({"uuid": "u" * 255}).uuid == "u" * 255


def test_decode_json_reads_a_lone_surrogate_that_orjson_refuses():
    body = b'{"data": [{"uuid": "a", "name": "cut \\ud83d"}], "ok": "\\ud83d\\ude00"}'
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)
    decoded = decode_json(bytearray(body))
    assert decoded == {"data": [{"uuid": "a", "name": "cut \ud83d"}], "ok": "\U0001f600"}
    assert repaired(decoded)["data"][0]["name"] == "cut \ufffd"


def test_decode_json_refuses_what_no_decoder_reads_with_a_value_error():
    for body in (b"[" * 5000 + b"]" * 5000, b"not json", b'"\xff"'):
        with pytest.raises(ValueError):
            decode_json(body)


def test_too_deep_counts_the_chat_as_the_first_level():
    chat: dict = {"uuid": "u"}
    level = chat
    for _ in range(MAX_DEPTH - 1):
        level["k"] = {}
        level = level["k"]
    assert too_deep(chat) is False
    level["k"] = []
    assert too_deep(chat) is True
    assert too_deep("text") is False


def test_repaired_replaces_lone_surrogates_in_keys_and_values_and_keeps_pairs():
    value = {"k\udc00": ["\ud800x", "\U0001f600", {"\x00n": "a\x00\udfff"}], "n": 1}
    assert repaired(value) == {"k\ufffd": ["\ufffdx", "\U0001f600", {"n": "a\ufffd"}], "n": 1}


def test_build_put_body_maps_names_and_sends_only_given_fields():
    body = build_put_body(
        uuid="u",
        bot_id="b",
        customer_id="c",
        status="REVIEW",
        dial_code="91",
        agent_id="a1",
        notes=[{"id": "n1", "title": "T", "description": "D"}],
        attributes=[{"key": "k", "value": 3}],
        tags=["x", "y"],
    )
    assert body == {
        "uuid": "u",
        "botId": "b",
        "customerId": "c",
        "status": "REVIEW",
        "dialCode": "+91",
        "agentId": "a1",
        "notes": [{"title": "T", "description": "D"}],
        "attributes": [{"key": "k", "value": "3"}],
        "tags": ["x", "y"],
    }
    assert build_put_body(uuid="u", bot_id="b", customer_id="c") == {
        "uuid": "u",
        "botId": "b",
        "customerId": "c",
    }


def test_build_put_body_rejects_unknown_fields():
    with pytest.raises(TypeError, match="colour"):
        build_put_body(uuid="u", bot_id="b", customer_id="c", colour="red")


def test_record_to_put_body_round_trip():
    body = record_to_put_body(parse_chat(copy.deepcopy(EXAMPLE_CHAT)), bot_id="b", customer_id="c")
    assert body == {
        "uuid": EXAMPLE_CHAT["uuid"],
        "botId": "b",
        "customerId": "c",
        "name": "Meera Iyer",
        "email": "meera@example.org",
        "phone": "9876543210",
        "dialCode": "+91",
        "picture": "https://cdn.example.org/u/meera.png",
        "status": "INPROGRESS",
        "agentId": "64a1a9d0aa00000000000042",
        "tags": ["pricing", "hot"],
        "notes": [{"title": "Pricing", "description": "Asked for the annual plan"}],
        "attributes": [{"key": "plan", "value": "annual"}],
    }


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://cdn.example.org/a.png", True),
        ("http://x.example/a.png", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:image/png;base64,AAAA", False),
        ("//evil.example/x.png", False),
        ("https://", False),
        ('https://x.example/"onerror="alert(1)', False),
        ("", False),
        (None, False),
    ],
)
def test_safe_http_url(url, ok):
    assert safe_http_url(url) == (url if ok else "")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=25,
)
chat_keys = st.sampled_from(
    [
        "uuid",
        "_id",
        "status",
        "profile",
        "userDetails",
        "contact",
        "phone",
        "notes",
        "tags",
        "attributes",
        "lastMessage",
        "createdAt",
        "updatedAt",
        "_agentAssigned",
        "websiteVisits",
        "isOnline",
        "name",
        "email",
        "prefix",
        "number",
        "key",
        "value",
        "title",
    ]
)
chat_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(chat_keys, children, max_size=6)
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        json_values,
        chat_like,
        st.fixed_dictionaries(
            {"uuid": json_values},
            optional={
                "profile": chat_like,
                "lastMessage": chat_like,
                "updatedAt": json_values,
                "_agentAssigned": chat_like,
                "websiteVisits": json_values,
                "status": json_values,
            },
        ),
    )
)
def test_arbitrary_json_parses_or_raises_parse_error_only(obj):
    try:
        record = parse_chat(obj)
    except ParseError:
        return
    assert isinstance(record, ChatRecord) and record.uuid
    assert all(isinstance(t, str) and t for t in record.tags)
    assert isinstance(record.website_visits, int) and record.website_visits >= 0
    # Whatever was parsed can be sent back.
    record_to_put_body(record, bot_id="b", customer_id="c")
