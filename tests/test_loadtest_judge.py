"""How `make loadtest` judges a run with faults (loadtest/judge.py): which requests count for the
p95 outside the fault windows, which 5xx answers the connection-termination second forgives, and
which edits count as lost."""

from dataclasses import dataclass

from loadtest.judge import (
    TERMINATION,
    Window,
    expected_statuses,
    inside,
    lost_edits,
    outside,
    pct,
    timeline,
    unforgiven_5xx,
)


@dataclass
class Hit:
    at: float
    ms: float
    status: int = 200


@dataclass
class Edit:
    uuid: str
    status: str
    outcome: str
    sent_at: float
    answered_at: float


OUTAGE = Window("sandbox down", 10.0, 30.0)
ENDED = Window(TERMINATION, 48.0, 48.05)


def test_a_request_open_at_any_moment_of_a_window_is_inside_it():
    before = Hit(at=9.0, ms=500)  # answered at 9.5 s
    straddling = Hit(at=9.8, ms=400)  # sent before, answered inside
    during = Hit(at=20.0, ms=30)
    after = Hit(at=30.01, ms=30)
    hits = [before, straddling, during, after]
    assert outside(hits, [OUTAGE]) == [before, after]
    assert inside(hits, [OUTAGE]) == [straddling, during]


def test_p95_outside_the_windows_ignores_the_slow_requests_of_a_fault():
    calm = [Hit(at=i * 0.1, ms=100) for i in range(95)] + [Hit(at=50, ms=200) for _ in range(5)]
    slow = [Hit(at=20 + i * 0.01, ms=5000) for i in range(50)]
    assert pct([h.ms for h in outside(calm + slow, [OUTAGE])], 95) <= 200
    assert pct([h.ms for h in calm + slow], 95) == 5000


def test_without_windows_every_request_is_outside():
    hits = [Hit(at=1, ms=10), Hit(at=2, ms=20)]
    assert outside(hits, []) == hits


def test_a_5xx_is_forgiven_only_in_the_connection_termination_second():
    in_flight = Hit(at=47.9, ms=150, status=500)  # its query was running when it was ended
    within_the_second = Hit(at=48.9, ms=20, status=500)
    a_second_later = Hit(at=49.2, ms=20, status=500)
    during_the_outage = Hit(at=20.0, ms=20, status=502)
    fine = Hit(at=48.5, ms=20, status=200)
    hits = [in_flight, within_the_second, a_second_later, during_the_outage, fine]
    assert unforgiven_5xx(hits, [OUTAGE, ENDED]) == [a_second_later, during_the_outage]


def test_no_5xx_is_forgiven_without_a_termination():
    hits = [Hit(at=48.0, ms=10, status=500)]
    assert unforgiven_5xx(hits, [OUTAGE]) == hits


def test_a_termination_that_lasts_longer_than_a_second_forgives_until_it_ends():
    slow_end = Window(TERMINATION, 48.0, 50.0)
    assert unforgiven_5xx([Hit(at=49.8, ms=10, status=500)], [slow_end]) == []


def test_the_last_accepted_edit_is_expected_and_an_older_one_is_lost():
    edits = [
        Edit("a", "OPEN", "accepted", 1.0, 1.1),
        Edit("a", "CLOSED", "pending", 2.0, 2.1),
        Edit("a", "REVIEW", "conflict", 3.0, 3.1),  # refused: must not be what BotPenguin holds
    ]
    expected = expected_statuses(edits)
    assert expected["a"][1] == {"CLOSED"}
    assert lost_edits(expected, {"a": "CLOSED"}) == []
    assert lost_edits(expected, {"a": "OPEN"}) == [("a", "CLOSED", "OPEN")]
    assert lost_edits(expected, {"a": "REVIEW"}) == [("a", "CLOSED", "REVIEW")]


def test_a_later_edit_answered_with_an_error_may_have_been_applied():
    edits = [
        Edit("a", "OPEN", "accepted", 1.0, 1.1),
        Edit("a", "DEPENDANCY", "error", 2.0, 2.2),  # 500: saved and sent all the same?
    ]
    expected = expected_statuses(edits)
    assert lost_edits(expected, {"a": "DEPENDANCY"}) == []
    assert lost_edits(expected, {"a": "OPEN"}) == []
    assert lost_edits(expected, {"a": "CLOSED"}) == [("a", "OPEN", "CLOSED")]


def test_an_error_before_the_last_accepted_edit_excuses_nothing():
    edits = [
        Edit("a", "DEPENDANCY", "error", 1.0, 1.2),
        Edit("a", "OPEN", "accepted", 2.0, 2.1),
    ]
    assert lost_edits(expected_statuses(edits), {"a": "DEPENDANCY"}) == [
        ("a", "OPEN", "DEPENDANCY")
    ]


def test_a_lead_without_an_accepted_edit_is_not_judged():
    edits = [Edit("a", "OPEN", "error", 1.0, 1.2), Edit("b", "OPEN", "conflict", 1.0, 1.1)]
    assert expected_statuses(edits) == {}


def test_the_timeline_lists_the_faults_in_order():
    lines = timeline([ENDED, Window("sandbox down", 9.0, 30.2, "SIGTERM")])
    assert lines[0].endswith("sandbox down: SIGTERM")
    assert lines[1].endswith(TERMINATION)
