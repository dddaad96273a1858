"""Insights (issue 19): every figure and CSV matches a plain Python count over the seeded rows
(the person's time zone, leads without dates, a lead reopened after Closed, changes seen only by
a sync), every linked number is the count of the list it links to, and the page is cached."""

import copy
import csv
import io
import random
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads import rollup
from leads.models import (
    AgentProfile,
    Bot,
    InsightsDay,
    InsightsDirtyDay,
    Lead,
    LeadTag,
    OverdueRule,
    StatusChange,
)
from leads.selectors.counting import bump_mirror_version
from leads.sync.run import sync_leads
from tests.factories import BOT_ID, CUSTOMER_ID, SANDBOX_TOKEN, env_bot, make_chat

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
FIRST, LAST = date(2026, 10, 7), date(2026, 10, 20)  # a Wednesday to a Tuesday: three weeks
PERIOD = f"range=custom&start={FIRST}&end={LAST}"
ASHA, LENA, GHOST = "agent-asha", "agent-lena", "64a1a9d0aa00000000000099"
STATUSES = ["OPEN", "INPROGRESS", "REVIEW", "ONHOLD", "DEPENDANCY", "CLOSED"]
WAITING_HOURS = [None, 0.5, 2.5, 12, 48, 100]  # away from every bucket's edges


@dataclass
class Seed:
    """A lead as the test made it: what the expected figures are computed from."""

    n: int
    visible: bool
    is_lead: bool
    created: datetime | None
    agent: str
    tags: list[str]
    history: list[tuple[str, str, datetime, str]]  # (from, to, at, source), oldest first
    waiting_hours: float | None = None
    lead: Lead | None = field(default=None, repr=False)

    @property
    def status(self) -> str:
        return self.history[-1][1]

    @property
    def transitions(self) -> list[tuple[str, str, datetime, str]]:
        return [h for h in self.history if h[3] != "start"]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def random_history(rng, created: datetime) -> list[tuple]:
    status = "OPEN" if rng.random() < 0.85 else rng.choice(STATUSES[1:])
    history = [("", status, created, "start")]
    at = created
    for _ in range(rng.choice([0, 1, 1, 2, 3, 4])):
        at = at + timedelta(seconds=rng.randint(60, 5 * 86400))
        new = rng.choice([s for s in STATUSES if s != status])
        history.append((status, new, at, rng.choice(["botpanel", "botpenguin"])))
        status = new
    return history


def special_seeds() -> list[Seed]:
    """The cases the issue names, made by hand."""
    late = utc(2026, 10, 6, 23, 30)  # 05:00 on 7 October in Kolkata: the period's first day
    return [
        Seed(1000, True, True, late, ASHA, ["hot"], [("", "OPEN", late, "start")]),
        # The last second of 20 October in Kolkata, and the first of the 21st (outside).
        Seed(
            1001,
            True,
            True,
            utc(2026, 10, 20, 18, 29, 59),
            "",
            [],
            [("", "OPEN", utc(2026, 10, 20, 18, 29, 59), "start")],
        ),
        Seed(
            1002,
            True,
            True,
            utc(2026, 10, 20, 18, 30),
            "",
            [],
            [("", "OPEN", utc(2026, 10, 20, 18, 30), "start")],
        ),
        # Closed, then back to Open: no time to close; its first action still counts.
        Seed(
            1003,
            True,
            True,
            utc(2026, 10, 8, 9),
            LENA,
            ["VIP", "reopened"],
            [
                ("", "OPEN", utc(2026, 10, 8, 9), "start"),
                ("OPEN", "CLOSED", utc(2026, 10, 8, 15), "botpanel"),
                ("CLOSED", "OPEN", utc(2026, 10, 9, 10), "botpenguin"),
            ],
            waiting_hours=12,
        ),
        # Closed, reopened, closed again: timed to the last closing.
        Seed(
            1004,
            True,
            True,
            utc(2026, 10, 9, 6),
            ASHA,
            ["vip", "twice"],
            [
                ("", "OPEN", utc(2026, 10, 9, 6), "start"),
                ("OPEN", "CLOSED", utc(2026, 10, 9, 8), "botpenguin"),
                ("CLOSED", "REVIEW", utc(2026, 10, 12, 8), "botpanel"),
                ("REVIEW", "CLOSED", utc(2026, 10, 15, 20), "botpenguin"),
            ],
        ),
        # First seen Closed: no first action and no time to close.
        Seed(
            1005,
            True,
            True,
            utc(2026, 10, 10, 3),
            ASHA,
            ["first-closed"],
            [("", "CLOSED", utc(2026, 10, 10, 3), "start")],
        ),
        # A change a sync dated before the chat's createdAt: 0 seconds, not a negative time.
        Seed(
            1006,
            True,
            True,
            utc(2026, 10, 11, 12),
            LENA,
            ["early"],
            [
                ("", "OPEN", utc(2026, 10, 11, 12), "start"),
                ("OPEN", "CLOSED", utc(2026, 10, 11, 11), "botpenguin"),
            ],
        ),
        # No arrival date: in the funnel and the workload's closings, in no time or arrival.
        Seed(
            1007,
            True,
            True,
            None,
            LENA,
            ["hot", "undated"],
            [
                ("", "OPEN", utc(2026, 10, 1), "start"),
                ("OPEN", "CLOSED", utc(2026, 10, 13, 10), "botpenguin"),
            ],
        ),
        Seed(
            1008,
            True,
            True,
            None,
            "",
            [],
            [("", "OPEN", utc(2026, 10, 1), "start")],
            waiting_hours=100,
        ),
        # Another bot's lead (the agent does not see it) in the period.
        Seed(
            1009,
            False,
            True,
            utc(2026, 10, 12, 12),
            ASHA,
            ["hot"],
            [
                ("", "OPEN", utc(2026, 10, 12, 12), "start"),
                ("OPEN", "CLOSED", utc(2026, 10, 12, 13), "botpanel"),
            ],
            waiting_hours=2.5,
        ),
    ]


def random_seeds() -> list[Seed]:
    rng = random.Random(19)
    seeds = []
    for n in range(90):
        created = utc(2026, 10, 4) + timedelta(seconds=rng.randint(0, 20 * 86400))
        seeds.append(
            Seed(
                n=n,
                visible=rng.random() < 0.9,
                is_lead=rng.random() < 0.85,
                created=created,
                agent=rng.choice([ASHA, LENA, GHOST, ""]),
                tags=rng.sample(["hot", "vip", "pricing", "Demo", "VIP"], rng.choice([0, 1, 2])),
                history=random_history(rng, created),
                waiting_hours=rng.choice(WAITING_HOURS),
            )
        )
    return seeds


def store(seeds: list[Seed], bots: dict[bool, Bot]) -> None:
    now = timezone.now()
    for seed in seeds:
        tags = list(dict.fromkeys(seed.tags))
        waiting = None if seed.waiting_hours is None else now - timedelta(hours=seed.waiting_hours)
        seed.lead = Lead.objects.create(
            bot=bots[seed.visible],
            uuid=f"00000000-0000-4000-8000-{seed.n:012d}",
            name=f"Person {seed.n}",
            is_lead=seed.is_lead,
            status=seed.status,
            agent_id=seed.agent,
            tags=tags,
            remote_created_at=seed.created,
            remote_updated_at=seed.history[-1][2],
            waiting_since=waiting,
        )
        keys = {}
        for tag in tags:
            keys.setdefault(tag.casefold(), tag)
        LeadTag.objects.bulk_create(
            [LeadTag(lead=seed.lead, name=name, key=key) for key, name in keys.items()]
        )
        StatusChange.objects.bulk_create(
            [
                StatusChange(
                    lead=seed.lead, bot=seed.lead.bot, from_status=a, to_status=b, at=at, source=s
                )
                for a, b, at, s in seed.history
            ]
        )
    bump_mirror_version()


@pytest.fixture
def people(user, lead_admin):
    AgentProfile.objects.create(user=user, agent_id=ASHA, time_zone="Asia/Kolkata")
    AgentProfile.objects.create(user=lead_admin, agent_id=LENA, time_zone="Asia/Kolkata")


class Durations:
    """How the page's durations are expected: exact (computed live), or rounded as the daily
    rollup keeps them (when the person counts days in the installation's TIME_ZONE)."""

    rounded = False


def as_kept(seconds: int) -> int:
    """Two significant figures, halves up: the rollup's rule, written again here."""
    if not Durations.rounded or seconds < 100:
        return seconds
    places = len(str(seconds)) - 2
    return int(Decimal(seconds).scaleb(-places).quantize(Decimal(1), ROUND_HALF_UP).scaleb(places))


@pytest.fixture(params=["live", "rollup", "rollup with days not refreshed"])
def seeds(request, user, lead_admin, people, settings):
    """The seeded leads, with the figures computed live (the person's time zone is not the
    installation's), from the daily rollup, or from the rollup with some days still dirty."""
    mine = env_bot()
    theirs = Bot.objects.create(
        name="WhatsApp", api_url="http://127.0.0.1:9", remote_bot_id="wa", customer_id="c2"
    )
    mine.members.add(user, lead_admin)
    made = special_seeds() + random_seeds()
    store(made, {True: mine, False: theirs})
    if request.param != "live":
        settings.TIME_ZONE = "Asia/Kolkata"
        rollup.rebuild()
        rollup.refresh()
        assert InsightsDay.objects.exists() and not InsightsDirtyDay.objects.exists()
        Durations.rounded = True
        request.addfinalizer(lambda: setattr(Durations, "rounded", False))
    if request.param == "rollup with days not refreshed":
        rollup.touch([made[0].lead.pk, made[-1].lead.pk])
        assert InsightsDirtyDay.objects.exists()
    return made


# --- what the figures should be, computed from the seeds alone ---------------------------------


def local_day(moment: datetime, zone=KOLKATA) -> date:
    return moment.astimezone(zone).date()


def in_period(moment: datetime | None, zone=KOLKATA) -> bool:
    return moment is not None and FIRST <= local_day(moment, zone) <= LAST


def week_start(moment: datetime) -> date:
    day = local_day(moment)
    return max(FIRST, day - timedelta(days=day.weekday()))


def seconds(start: datetime, end: datetime) -> int:
    return max(0, int(end.timestamp()) - int(start.timestamp()))


def counted(seeds, *, agent=None, tag=None) -> list[Seed]:
    return [
        s
        for s in seeds
        if s.visible
        and s.is_lead
        and (agent is None or s.agent == agent)
        and (tag is None or tag in {t.casefold() for t in s.tags})
    ]


def first_action_of(seed: Seed) -> datetime | None:
    moves = seed.transitions
    return moves[0][2] if moves and moves[0][0] == "OPEN" else None


def last_closing_of(seed: Seed) -> datetime | None:
    closings = [t[2] for t in seed.transitions if t[1] == "CLOSED"]
    return closings[-1] if closings and seed.status == "CLOSED" else None


def spread(values: list[int]) -> tuple[int, float | None, float | None]:
    """(count, median hours, 90th percentile hours), as statistics computes them."""
    if not values:
        return 0, None, None
    values = [as_kept(value) for value in values]
    p90 = (
        values[0] if len(values) == 1 else statistics.quantiles(values, n=10, method="inclusive")[8]
    )
    return len(values), round(statistics.median(values) / 3600, 2), round(p90 / 3600, 2)


def weekly(seeds, moment_of) -> dict[date, tuple]:
    found = defaultdict(list)
    for seed in seeds:
        moment = moment_of(seed)
        if seed.created and in_period(moment):
            found[week_start(moment)].append(seconds(seed.created, moment))
    return {week: spread(values) for week, values in found.items()}


# --- reading the page ---------------------------------------------------------------------------


def read_csv(client, chart: str, query: str = PERIOD) -> list[list[str]]:
    response = client.get(f"/insights/?{query}&_export=csv&chart={chart}")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def number(text: str) -> float | None:
    return None if text == "" else float(text)


def near(a: float | None, b: float | None) -> bool:
    return a == b if a is None or b is None else abs(a - b) <= 0.011


# --- the figures --------------------------------------------------------------------------------


def test_arrivals_per_day_are_counted_in_the_persons_time_zone(agent_client, seeds):
    rows = read_csv(agent_client, "arrivals")
    assert rows[0] == ["Day", "New leads", "Other chats"]
    expected = Counter(
        (local_day(s.created), s.is_lead) for s in seeds if s.visible and in_period(s.created)
    )
    days = [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
    assert rows[1:] == [
        [day.isoformat(), str(expected[(day, True)]), str(expected[(day, False)])] for day in days
    ]
    # 23:30 UTC on the 6th is the 7th in Kolkata; 18:30 UTC on the 20th is the 21st (outside).
    assert local_day(seeds[0].created) == FIRST and not in_period(seeds[2].created)


def test_the_same_leads_fall_on_other_days_in_utc(client, seeds, admin_user):
    profile = AgentProfile.objects.create(user=admin_user, time_zone="UTC")
    client.force_login(admin_user)  # a superuser: both bots

    def expected(zone) -> dict[str, int]:
        days = Counter(
            local_day(s.created, zone) for s in seeds if s.is_lead and in_period(s.created, zone)
        )
        return {
            (FIRST + timedelta(days=i)).isoformat(): days[FIRST + timedelta(days=i)]
            for i in range(14)
        }

    assert expected(UTC) != expected(KOLKATA)
    assert {row[0]: int(row[1]) for row in read_csv(client, "arrivals")[1:]} == expected(UTC)
    profile.time_zone = "Asia/Kolkata"
    profile.save()
    assert {row[0]: int(row[1]) for row in read_csv(client, "arrivals")[1:]} == expected(KOLKATA)


def test_the_funnel_counts_every_lead_whatever_its_arrival(agent_client, seeds):
    rows = read_csv(agent_client, "funnel")
    expected = Counter(s.status for s in counted(seeds))
    assert rows[0] == ["Status", "Leads"]
    assert {row[0]: int(row[1]) for row in rows[1:]} == {s: expected[s] for s in STATUSES}
    html = agent_client.get(f"/insights/?{PERIOD}").content.decode()
    undated = sum(1 for s in counted(seeds) if s.created is None)
    assert undated == 2 and f"{undated} lead(s) have no arrival date" in html


@pytest.mark.parametrize(
    ("chart", "moment_of"),
    [("first_action", first_action_of), ("time_to_close", last_closing_of)],
)
def test_times_per_week_match_statistics_over_the_seeded_history(
    agent_client, seeds, chart, moment_of
):
    rows = read_csv(agent_client, chart)
    assert rows[0][1:] == [rows[0][1], "Median (hours)", "90th percentile (hours)"]
    assert [row[0] for row in rows[1:]] == ["2026-10-07", "2026-10-12", "2026-10-19"]
    expected = weekly(counted(seeds), moment_of)
    for row in rows[1:]:
        count, median, p90 = expected.get(date.fromisoformat(row[0]), (0, None, None))
        assert int(row[1]) == count, row
        assert near(number(row[2]), median) and near(number(row[3]), p90), (row, expected)


def weeks_of(client, chart: str, tag: str) -> dict[str, list[str]]:
    """{week: [count, median, p90]} of the weeks with any lead, for one tag's leads."""
    return {
        row[0]: row[1:]
        for row in read_csv(client, chart, f"{PERIOD}&tag={tag}")[1:]
        if row[1] != "0"
    }


def test_the_cases_by_hand(agent_client, seeds):
    # Closed, then back to Open: no time to close; its first action (6 hours) counts.
    assert weeks_of(agent_client, "first_action", "reopened") == {"2026-10-07": ["1", "6.0", "6.0"]}
    assert weeks_of(agent_client, "time_to_close", "reopened") == {}
    # Closed, reopened, closed again: 6 days 14 hours to the last closing, in its week.
    assert weeks_of(agent_client, "time_to_close", "twice") == {
        "2026-10-12": ["1", "158.0", "158.0"]
    }
    assert weeks_of(agent_client, "first_action", "twice") == {"2026-10-07": ["1", "2.0", "2.0"]}
    # First seen Closed: neither.
    assert weeks_of(agent_client, "first_action", "first-closed") == {}
    assert weeks_of(agent_client, "time_to_close", "first-closed") == {}
    # Dated (by a sync) an hour before the chat's createdAt: 0 hours, not minus one.
    assert weeks_of(agent_client, "time_to_close", "early") == {"2026-10-07": ["1", "0.0", "0.0"]}
    # No arrival date: in no time, but closed in the period by its agent.
    assert weeks_of(agent_client, "time_to_close", "undated") == {}
    workload = read_csv(agent_client, "workload", f"{PERIOD}&tag=undated")
    assert [row for row in workload[1:] if row[2] != "0"] == [[LENA, "0", "1", ""]]


def test_workload_per_agent(agent_client, seeds):
    rows = read_csv(agent_client, "workload")
    assert rows[0] == ["Agent", "Open now", "Closed in the period", "Median time to close (hours)"]
    leads = counted(seeds)
    found = {row[0]: row[1:] for row in rows[1:]}
    assert list(found) == [ASHA, LENA, GHOST, "unassigned"]  # people by name, other ids, nobody
    for agent in (ASHA, LENA, GHOST, ""):
        mine = [s for s in leads if s.agent == agent]
        closed = [s for s in mine if in_period(last_closing_of(s))]
        timed = [seconds(s.created, last_closing_of(s)) for s in closed if s.created]
        row = found[agent or "unassigned"]
        assert int(row[0]) == sum(1 for s in mine if s.status != "CLOSED")
        assert int(row[1]) == len(closed)
        assert near(number(row[2]), spread(timed)[1])


def test_backlog_by_waiting_time_and_overdue(agent_client, seeds):
    rows = read_csv(agent_client, "backlog")
    waiting = [s.waiting_hours for s in counted(seeds) if s.status != "CLOSED"]
    expected = [
        sum(1 for h in waiting if h is not None and low <= h < high)
        for low, high in [(0, 1), (1, 4), (4, 24), (24, 72), (72, 10**6)]
    ]
    assert [int(row[1]) for row in rows[1:6]] == expected
    assert rows[6] == ["unknown", str(waiting.count(None))]
    rules = dict(OverdueRule.objects.values_list("status", "after_minutes"))
    overdue = sum(
        1
        for s in counted(seeds)
        if s.status in rules
        and s.waiting_hours is not None
        and s.waiting_hours * 60 > rules[s.status]
    )
    html = agent_client.get(f"/insights/?{PERIOD}").content.decode()
    assert re.search(rf"Overdue now</div>\s*<div[^>]*>{overdue}<", html)


def test_top_tags_among_new_leads(agent_client, seeds):
    rows = read_csv(agent_client, "tags")
    names: dict[str, set] = defaultdict(set)
    counts = Counter()
    for s in counted(seeds):
        if in_period(s.created):
            for key in {t.casefold() for t in s.tags}:
                counts[key] += 1
                names[key].update(t for t in s.tags if t.casefold() == key)
    expected = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    assert [(row[0], int(row[1])) for row in rows[1:]] == [(min(names[k]), n) for k, n in expected]


def test_filters_by_agent_me_unassigned_and_tag(agent_client, seeds):
    for query, agent, tag in [
        ("agent=me", ASHA, None),
        ("agent=none", "", None),
        (f"agent={GHOST}", GHOST, None),
        ("tag=VIP", None, "vip"),
        ("agent=me&tag=hot", ASHA, "hot"),
    ]:
        rows = read_csv(agent_client, "funnel", f"{PERIOD}&{query}")
        expected = Counter(s.status for s in counted(seeds, agent=agent, tag=tag))
        assert {row[0]: int(row[1]) for row in rows[1:]} == {s: expected[s] for s in STATUSES}
        rows = read_csv(agent_client, "time_to_close", f"{PERIOD}&{query}")
        weeks = weekly(counted(seeds, agent=agent, tag=tag), last_closing_of)
        assert [int(row[1]) for row in rows[1:]] == [
            weeks.get(date.fromisoformat(row[0]), (0,))[0] for row in rows[1:]
        ]


def test_changes_seen_only_by_a_sync_are_timed_by_updated_at(botpenguin, agent_client, people):
    chat = make_chat(1, status="OPEN")
    now = timezone.now().replace(microsecond=0)
    chat["createdAt"] = (now - timedelta(hours=30)).isoformat().replace("+00:00", "Z")
    botpenguin.sandbox.add_chat(copy.deepcopy(chat), is_lead=True)
    sync_leads(kinds=["lead"])
    response = requests.put(
        f"{botpenguin.url}/inbox/direct/lead",
        json={"botId": BOT_ID, "customerId": CUSTOMER_ID, "uuid": chat["uuid"], "status": "CLOSED"},
        headers={"x-bp-token": SANDBOX_TOKEN},
        timeout=5,
    )
    assert response.status_code == 200
    sync_leads(kinds=["lead"])
    change = StatusChange.objects.get(source="botpenguin")
    lead = Lead.objects.get(uuid=chat["uuid"])
    assert change.at == lead.remote_updated_at  # BotPenguin's updatedAt
    for chart in ("first_action", "time_to_close"):
        rows = read_csv(agent_client, chart, "range=7")
        measured = [row for row in rows[1:] if row[1] != "0"]
        assert len(measured) == 1 and int(measured[0][1]) == 1
        hours = round(seconds(lead.remote_created_at, change.at) / 3600, 2)
        assert near(number(measured[0][2]), hours)


# --- links, CSVs and the page -------------------------------------------------------------------

LINK = re.compile(r'<a href="(/leads/\?[^"]+)">([\d,]+)</a>')


def test_every_linked_number_is_the_count_of_the_list_it_opens(agent_client, seeds):
    for query in (PERIOD, f"{PERIOD}&agent=me", f"{PERIOD}&tag=hot", "range=7"):
        html = agent_client.get(f"/insights/?{query}").content.decode()
        links = {
            (href.replace("&amp;", "&"), int(text.replace(",", "")))
            for href, text in LINK.findall(html)
        }
        assert len(links) > 20
        for href, shown in links:
            listed = agent_client.get(href).context["table"].paginator.count
            assert listed == shown, (query, href)


def test_csv_holds_exactly_what_the_chart_draws(agent_client, seeds):
    response = agent_client.get(f"/insights/?{PERIOD}")
    for chart in response.context["charts"]:
        config = chart.config()
        rows = read_csv(agent_client, chart.name)
        assert rows[0][1:] == [d["label"] for d in config["datasets"]]
        for i, dataset in enumerate(config["datasets"]):
            drawn = ["" if v is None else str(v) for v in dataset["data"]]
            assert [row[i + 1] for row in rows[1:]] == drawn, chart.name
    assert agent_client.get(f"/insights/?{PERIOD}&_export=csv&chart=nope").status_code == 404


def test_a_period_refused_says_why_and_keeps_what_was_typed(agent_client, seeds):
    html = agent_client.get(
        "/insights/?range=custom&start=2026-10-20&end=2026-10-01&tag=hot"
    ).content.decode()
    assert "The first day comes after the last." in html
    assert 'value="2026-10-20"' in html and 'value="hot"' in html
    assert "insights-arrivals" not in html
    html = agent_client.get(
        "/insights/?range=custom&start=2024-01-01&end=2026-01-01"
    ).content.decode()
    assert "at most 366 days" in html
    refused = agent_client.get("/insights/?range=custom&start=2026-10-20&_export=csv&chart=funnel")
    assert refused.status_code == 400 and b"both days" in refused.content


def test_another_bots_leads_are_never_counted_nor_chosen(agent_client, seeds):
    theirs = Bot.objects.get(name="WhatsApp")
    mine = read_csv(agent_client, "funnel", f"{PERIOD}&bot={theirs.pk}")
    assert sum(int(row[1]) for row in mine[1:]) == len(counted(seeds))


def test_figures_are_cached_per_mirror_version_and_history(agent_client, seeds, settings):
    url = f"/insights/?{PERIOD}"
    with CaptureQueriesContext(connection) as cold:
        agent_client.get(url)
    with CaptureQueriesContext(connection) as warm:
        agent_client.get(url)
    # The figures: a constant handful of queries (live or from the rollup, whatever the number
    # of leads; five more for each day the rollup has not refreshed yet), then none but the
    # history's newest id.
    not_refreshed = InsightsDirtyDay.objects.count()
    assert 10 <= len(cold.captured_queries) - len(warm.captured_queries) <= 16 + 5 * not_refreshed
    assert len(warm.captured_queries) <= 6
    # A delivered edit writes history but no new mirror version: the figures follow it.
    lead = next(
        s.lead for s in counted(seeds) if s.status == "OPEN" and s.created and in_period(s.created)
    )
    before = read_csv(agent_client, "time_to_close")
    StatusChange.objects.create(
        lead=lead,
        bot=lead.bot,
        from_status="OPEN",
        to_status="CLOSED",
        at=utc(2026, 10, 20, 12),
        source="botpanel",
    )
    Lead.objects.filter(pk=lead.pk).update(status="CLOSED")
    rollup.touch([lead.pk])  # as the delivery does
    after = read_csv(agent_client, "time_to_close")
    assert int(after[3][1]) == int(before[3][1]) + 1


def test_insights_need_a_role(client, nobody, seeds):
    assert client.get("/insights/").status_code == 302
    client.force_login(nobody)
    assert client.get("/insights/").status_code == 403


@pytest.mark.parametrize(
    ("zone", "first", "last"),
    [
        ("Europe/Berlin", date(2026, 10, 20), date(2026, 10, 31)),  # a 25-hour day, the 25th
        ("America/New_York", date(2026, 3, 1), date(2026, 3, 14)),  # a 23-hour day, the 8th
        ("Asia/Kathmandu", date(2026, 10, 1), date(2026, 10, 10)),  # UTC+5:45
    ],
)
def test_days_and_weeks_across_a_clock_change(client, admin_user, zone, first, last):
    AgentProfile.objects.create(user=admin_user, time_zone=zone)
    client.force_login(admin_user)
    here = ZoneInfo(zone)
    start = datetime.combine(first, datetime.min.time(), tzinfo=here).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=here)
    moments = []
    at = start - timedelta(hours=2)
    step = 0
    while at < end.astimezone(UTC) + timedelta(hours=2):
        moments.append(at)
        step += 1
        at += timedelta(minutes=37 + (step % 5) * 11)  # every hour of the day, over and over
    # A lead and its closing an hour later at each of them, and one at each local midnight.
    for day in range((last - first).days + 2):
        moments.append(
            datetime.combine(first + timedelta(days=day), datetime.min.time(), tzinfo=here)
        )
    bot = env_bot()
    for n, moment in enumerate(moments):
        lead = Lead.objects.create(
            bot=bot, uuid=f"dst-{n}", status="CLOSED", remote_created_at=moment
        )
        StatusChange.objects.create(
            lead=lead,
            bot=bot,
            from_status="OPEN",
            to_status="CLOSED",
            at=moment + timedelta(hours=1),
            source="botpenguin",
        )
    bump_mirror_version()
    query = f"range=custom&start={first}&end={last}"
    arrivals = read_csv(client, "arrivals", query)
    days = Counter(m.astimezone(here).date() for m in moments)
    assert {row[0]: int(row[1]) for row in arrivals[1:]} == {
        (first + timedelta(days=i)).isoformat(): days[first + timedelta(days=i)]
        for i in range((last - first).days + 1)
    }
    weeks = Counter()
    for m in moments:
        day = (m + timedelta(hours=1)).astimezone(here).date()
        if first <= day <= last:
            weeks[max(first, day - timedelta(days=day.weekday()))] += 1
    closings = read_csv(client, "time_to_close", query)
    assert {row[0]: int(row[1]) for row in closings[1:]} == {
        week.isoformat(): weeks[week] for week in sorted(weeks)
    }
    assert all(row[2] == "1.0" for row in closings[1:])
