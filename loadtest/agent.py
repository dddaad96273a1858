"""One simulated support agent: a `requests.Session` that does what a person in a browser does.

It logs in through /accounts/login/ with the CSRF token, then, with a person's think time between
steps, opens the list (25 or 100 rows), filters by status, searches, opens a lead and changes
statuses, both with the detail page's form and with the list's inline (htmx) select, posting
exactly the fields the browser posts (csrf token, `query`, `version`). The browser's background
requests are made too: the tag datalist on every list page, the pending/failed counts every 5 s
and the sync badge while a sync is running. Every response is recorded (kind, HTTP status,
latency) and every status edit with its outcome, so the run can check that none was lost.

Agents only edit leads from their own share (`owned`), as agents working their own queue do: one
agent's edits of a lead are then strictly ordered, and "the last accepted edit" of a lead is
well defined. Conflicts still happen: a sync bumps a lead's version between the page and the
POST, and now and then an agent re-submits a form with the version from before its own edit.
"""

from __future__ import annotations

import html
import random
import re
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode, urljoin

import requests

STATUSES = ("OPEN", "INPROGRESS", "REVIEW", "ONHOLD", "DEPENDANCY", "CLOSED")
SEARCH_WORDS = ("a", "an", "li", "sh", "mar", "gmail", "example", "+91", "98", "José", "ya")
SAVED_PENDING = "Saved — will be sent to BotPenguin when it is reachable."

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
HX_CSRF = re.compile(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'")
# A list row: its uuid, version, link and status badge (static/js/list.js turns the badge into
# the status select posting to the link + "row-status/", as this agent does by hand).
ROW = re.compile(
    r'<tr data-uuid="([^"]+)" data-v="(\d+)"[^>]*>.*?'
    r'<a class="lead-link" href="([^"?]+)[^"]*">.*?<span class="st st-(\w+)">',
    re.S,
)
SELECTED = re.compile(r'<option value="([A-Z]*)" selected>')
FILTER_QUERY = re.compile(r'id="lead-table-query" name="query" value="([^"]*)"')
STATUS_FORM = re.compile(r'<form method="post" action="([^"]+)" id="status-form".*?</form>', re.S)
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')
SYNC_POLL = 'hx-get="/sync/status/"'
STATIC = re.compile(r'<(?:link|script)[^>]+(?:href|src)="(/static/[^"]+)"')

ACTIONS = (  # (kind, weight): a person's mix
    ("list", 22),
    ("list_100", 8),
    ("filter", 16),
    ("search", 12),
    ("detail", 18),
    ("edit_detail", 12),
    ("edit_inline", 12),
)


@dataclass
class Hit:
    kind: str
    status: int  # 0: no answer (connection error, timeout)
    ms: float
    at: float  # seconds since the run's start
    error: str = ""
    warmup: bool = False  # logging in, before the measured window


@dataclass
class Edit:
    """One status edit as the agent made it, and what the server answered."""

    uuid: str
    status: str
    via: str  # "detail", "inline", "stale"
    sent_at: float
    answered_at: float = 0.0
    http: int = 0
    outcome: str = ""  # accepted, pending (accepted, queued), conflict, refused, invalid, error


@dataclass
class Agent:
    base_url: str
    username: str
    password: str
    owned: list[str]
    deadline: float
    started: float
    seed: int
    proxy_https: bool = True
    hits: list[Hit] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.rng = random.Random(self.seed)
        self.owned_set = set(self.owned)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "BotPanel-loadtest/1.0"
        if self.proxy_https:
            # What nginx adds in front of gunicorn (deploy/nginx-botpanel.conf).
            self.session.headers["X-Forwarded-Proto"] = "https"
        self.origin = self.base_url.replace(
            "http://", "https://" if self.proxy_https else "http://"
        )
        self.hx_csrf = ""
        self.rows: list[tuple[str, str, int, str]] = []  # (uuid, post path, version, status)
        self.filter_query = ""
        self.list_url = "/leads/"
        self.next_poll = 0.0
        self.sync_running = False
        self.static_done = False
        self.warming = True
        self.ready = threading.Event()  # logged in (or given up)
        self.go: threading.Event | None = None

    # --- plumbing ---------------------------------------------------------------------------

    def now(self) -> float:
        return time.monotonic() - self.started

    def request(
        self, kind: str, method: str, path: str, *, data=None, htmx=False, referer=""
    ) -> requests.Response | None:
        headers = {}
        if method == "POST":
            headers["Origin"] = self.origin
        if referer:
            headers["Referer"] = urljoin(self.origin, referer)
        if htmx:
            headers["HX-Request"] = "true"
            headers["HX-Current-URL"] = urljoin(self.origin, referer or self.list_url)
            if method == "POST":
                headers["X-CSRFToken"] = self.hx_csrf
        at = self.now()
        t0 = time.perf_counter()
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                data=data,
                headers=headers,
                allow_redirects=False,
                timeout=30,
            )
        except requests.RequestException as e:
            ms = (time.perf_counter() - t0) * 1000
            self.hits.append(Hit(kind, 0, ms, at, e.__class__.__name__, self.warming))
            return None
        ms = (time.perf_counter() - t0) * 1000
        self.hits.append(Hit(kind, response.status_code, ms, at, warmup=self.warming))
        # The production cookies are Secure (nginx terminates TLS, imitated by X-Forwarded-Proto),
        # so send them over plain HTTP to 127.0.0.1 as browsers do for a loopback host.
        for cookie in self.session.cookies:
            cookie.secure = False
        if response.status_code >= 500:
            self.failures.append(f"{kind} {method} {path}: HTTP {response.status_code}")
        return response

    def page(self, kind: str, path: str, referer: str = "") -> str:
        response = self.request(kind, "GET", path, referer=referer)
        if response is None or response.status_code != 200:
            return ""
        text = response.text
        if m := HX_CSRF.search(text):
            self.hx_csrf = m.group(1)
        self.sync_running = SYNC_POLL in text
        if not self.static_done:
            # First page: the browser fetches the CSS and scripts once, then caches them.
            self.static_done = True
            for asset in dict.fromkeys(STATIC.findall(text)):
                self.request("static", "GET", asset, referer=path)
        return text

    def think(self, low: float = 0.5, high: float = 2.0) -> None:
        time.sleep(max(0.0, min(self.rng.uniform(low, high), self.deadline - time.monotonic())))

    def background(self, path: str) -> None:
        """The polling an open page does: counts every 5 s, the sync badge while syncing."""
        if time.monotonic() >= self.next_poll:
            self.next_poll = time.monotonic() + 5
            self.request("poll_counts", "GET", "/changes/counts/", htmx=True, referer=path)
        if self.sync_running:
            response = self.request("poll_sync", "GET", "/sync/status/", htmx=True, referer=path)
            self.sync_running = response is not None and SYNC_POLL in response.text

    # --- a person's session -----------------------------------------------------------------

    def run(self) -> None:
        try:
            logged_in = self.login()
            self.ready.set()
            if not logged_in:
                return
            if self.go is not None:
                self.go.wait()
                # People already at work do not all click in the same instant: each starts
                # the window somewhere in its think time, as it would be mid-session.
                self.think(0.0, 2.0)
            self.warming = False
            while time.monotonic() < self.deadline:
                kinds, weights = zip(*ACTIONS, strict=True)
                action = self.rng.choices(kinds, weights)[0]
                getattr(self, f"do_{action}")()
                self.think()
        except Exception as e:  # noqa: BLE001 - a bug in one agent must not hide the others
            self.failures.append(f"agent {self.username} crashed: {e!r}")
        finally:
            self.ready.set()

    def login(self) -> bool:
        text = self.page("login", "/accounts/login/")
        token = CSRF_INPUT.search(text)
        if not token:
            self.failures.append(f"{self.username}: no login form")
            return False
        self.think(1.0, 3.0)  # typing
        credentials = {"username": self.username, "password": self.password, "next": ""}
        data = {"csrfmiddlewaretoken": token.group(1), **credentials}
        response = self.request(
            "login", "POST", "/accounts/login/", data=data, referer="/accounts/login/"
        )
        if response is None or response.status_code != 302:
            status = response.status_code if response is not None else "no answer"
            self.failures.append(f"{self.username}: login answered {status}")
            return False
        self.list_page(response.headers.get("Location", "/leads/"), "list")
        return bool(self.rows)

    def list_page(self, path: str, kind: str) -> None:
        text = self.page(kind, path)
        if not text:
            return
        self.list_url = path
        self.rows = [
            (html.unescape(uuid), html.unescape(link) + "row-status/", int(version), status)
            for uuid, version, link, status in _rows(text)
        ]
        m = FILTER_QUERY.search(text)
        self.filter_query = html.unescape(m.group(1)) if m else ""
        self.request("tags", "GET", "/leads/tags/", htmx=True, referer=path)
        self.background(path)

    def do_list(self) -> None:
        page = self.rng.choice(["", "", "", "?page=2", "?page=3", "?sort=name"])
        self.list_page(f"/leads/{page}", "list")

    def do_list_100(self) -> None:
        self.list_page("/leads/?per_page=100", "list")

    def do_filter(self) -> None:
        statuses = self.rng.sample(STATUSES, self.rng.choice([1, 1, 1, 2]))
        params = [("status", s) for s in statuses]
        if self.rng.random() < 0.3:
            params.append(("per_page", "100"))
        self.list_page(f"/leads/?{urlencode(params)}", "filter")

    def do_search(self) -> None:
        self.list_page(f"/leads/?{urlencode({'q': self.rng.choice(SEARCH_WORDS)})}", "search")

    def do_detail(self) -> None:
        if not self.rows:
            return self.do_list()
        uuid = self.rng.choice(self.rows)[0]
        self.detail_page(uuid)

    def detail_page(self, uuid: str, query: str = "") -> str:
        path = f"/leads/{quote(uuid, safe='')}/" + (f"?{query}" if query else "")
        text = self.page("detail", path, referer=self.list_url)
        if text:
            self.background(path)
        return text

    def do_edit_detail(self) -> None:
        """Open one of my leads, pick another status in the form, save; now and then submit a
        second, stale form (the version from before my own edit): that must be a conflict."""
        uuid = self.rng.choice(self.owned)
        query = self.filter_query if self.rng.random() < 0.3 else ""
        text = self.detail_page(uuid, query)
        form = STATUS_FORM.search(text)
        if not form:
            return
        action = html.unescape(form.group(1))
        fields = {name: html.unescape(value) for name, value in HIDDEN.findall(form.group(0))}
        current = _selected(form.group(0))
        token = CSRF_INPUT.search(form.group(0))
        self.think(0.5, 1.5)  # choosing
        new = self.rng.choice([s for s in STATUSES if s != current])
        data = {
            "csrfmiddlewaretoken": token.group(1) if token else "",
            "query": fields.get("query", ""),
            "version": fields.get("version", ""),
            "status": new,
        }
        edit = self.post_status_form("detail", action, data, uuid, new)
        if edit.outcome in ("accepted", "pending") and self.rng.random() < 0.2:
            stale = self.rng.choice([s for s in STATUSES if s not in (current, new)])
            self.think(0.5, 1.0)
            self.post_status_form("stale", action, {**data, "status": stale}, uuid, stale)

    def post_status_form(self, via: str, action: str, data: dict, uuid: str, status: str) -> Edit:
        edit = Edit(uuid, status, via, self.now())
        self.edits.append(edit)
        referer = f"/leads/{quote(uuid, safe='')}/"
        response = self.request(f"edit_{via}", "POST", action, data=data, referer=referer)
        edit.answered_at = self.now()
        if response is None:
            edit.outcome = "error"
            return edit
        edit.http = response.status_code
        if response.status_code == 302:
            # Post/Redirect/Get: the browser follows the redirect, and the page it lands on says
            # what became of the edit (a refused or conflicting form is shown there again).
            text = self.page("detail", response.headers["Location"], referer=referer)
            edit.outcome = _form_outcome(text)
        else:
            edit.outcome = "error"
        return edit

    def do_edit_inline(self) -> None:
        """Change a row's status in the list (htmx POST of the row's select)."""
        mine = [row for row in self.rows if row[0] in self.owned_set]
        if not mine:
            return self.do_edit_detail()
        uuid, post, version, current = self.rng.choice(mine)
        new = self.rng.choice([s for s in STATUSES if s != current])
        edit = Edit(uuid, new, "inline", self.now())
        self.edits.append(edit)
        response = self.request(
            "edit_inline",
            "POST",
            post,
            data={"status": new, "query": self.filter_query, "version": str(version)},
            htmx=True,
            referer=self.list_url,
        )
        edit.answered_at = self.now()
        if response is None:
            edit.outcome = "error"
            return
        edit.http = response.status_code
        text = response.text
        if response.status_code == 200:
            if "text-danger row-error" in text:
                edit.outcome = "refused"
            elif "row-error" in text:
                edit.outcome = "pending"
            else:
                edit.outcome = "accepted"
            # The row is swapped in place: remember its new version for the next change.
            if m := ROW.search(text):
                self.rows = [
                    (u, p, int(m.group(2)), new) if u == uuid else (u, p, v, s)
                    for u, p, v, s in self.rows
                ]
        elif response.status_code == 409:
            edit.outcome = "conflict"
        elif response.status_code == 400:
            edit.outcome = "invalid"
        else:
            edit.outcome = "error"


def _form_outcome(text: str) -> str:
    """What the lead's page shows after the status form's redirect."""
    if 'id="conflict"' in text:
        return "conflict"
    form = STATUS_FORM.search(text)
    if form and ("alert-danger" in form.group(0) or "is-invalid" in form.group(0)):
        return "refused"  # BotPenguin said no (400/401), or the value was refused: on the form
    return "pending" if html.escape(SAVED_PENDING) in text else "accepted"


def _rows(text: str) -> list[tuple[str, str, str, str]]:
    """(uuid, version, link, status) of each list row in `text`; status "" for none."""
    return [
        (uuid, version, link, "" if status == "none" else status)
        for uuid, version, link, status in ROW.findall(text)
    ]


def _selected(options_html: str) -> str:
    m = SELECTED.search(options_html)
    return m.group(1) if m else ""


def run_agents(agents: list[Agent], ramp_seconds: float, seconds: float, on_start=None) -> float:
    """Log the agents in, spread over `ramp_seconds` (people do not all sign in at the same
    second); once all are in, let them work for `seconds`. Returns when the window started."""
    go = threading.Event()
    threads = []
    for i, agent in enumerate(agents):
        agent.go = go
        thread = threading.Thread(target=agent.run, name=agent.username, daemon=True)
        threads.append(thread)
        thread.start()
        if i < len(agents) - 1:
            time.sleep(ramp_seconds / max(1, len(agents)))
    for agent in agents:
        agent.ready.wait(120)
    if on_start is not None:
        on_start()
    started = time.monotonic()
    for agent in agents:
        agent.started, agent.deadline = started, started + seconds
    go.set()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    return started
