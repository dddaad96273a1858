"""The lead list's table and the Activity page's. django-tables2 holds the columns and their
ordering; the lead list is rendered by a Jinja2 template (templates/jinja2/leads/lead_table.html),
its rows by the lead_rows macro (templates/jinja2/leads/lead_rows.html), both autoescaped."""

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlencode

import django_tables2 as tables
from django.conf import settings
from django.http import QueryDict
from django.template import engines
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.timezone import get_current_timezone, now
from django_tables2.columns import BoundColumn

from leads.models import Lead, LeadChange
from leads.selectors import history, people
from leads.web.converters import SPELLED_OUT, url_segment
from leads.web.display import moment

# What a lead-list row shows: the list reads these values by name (values_list(named=True)), not
# whole leads; the inline status edit renders its row from the lead, whose attributes are named
# the same.
ROW_FIELDS = (
    "uuid",
    "bot_id",
    "name",
    "email",
    "phone",
    "dial_code",
    "picture",
    "status",
    "agent_id",
    "tags",
    "last_message_at",
    "last_message_by",
    "last_message_text",
    "remote_updated_at",
    "waiting_since",
    # What the page's marks are told from (selectors.queues.page_marks: new for the person).
    "id",
    "remote_created_at",
    "missing_since",
    "version",
    "change_state",
)

# Stands in for the uuid in a URL reversed once per table (see lead_url).
UUID_SLOT = "00UUID00"
# A uuid of these characters only (BotPenguin's are hex) goes into a URL as it is, unless the
# converter spells it out.
PLAIN_UUID = re.compile(r"[A-Za-z0-9_.~-]+")


def lead_url(name: str, query_string: str = "") -> Callable[[str], str]:
    """reverse(name, args=[uuid]) (+ "?query_string") for any uuid, at the cost of one reverse():
    each row links to two URLs, and a reverse() costs more than the rest of a row."""
    before, after = reverse(name, args=[UUID_SLOT]).split(UUID_SLOT)
    if query_string:
        after += "?" + query_string

    def url(uuid: str) -> str:
        plain = PLAIN_UUID.fullmatch(uuid) and uuid not in SPELLED_OUT
        return before + (uuid if plain else url_segment(uuid)) + after

    return url


def row_key(row: tuple) -> tuple:
    """A row's values as a dictionary key (its tags are a list)."""
    return tuple(tuple(value) if isinstance(value, list) else value for value in row)


class RenderedCache:
    """The last `size` markups made, by everything they are made from. A list row's markup is the
    same for the same values, links and time zone, and most rows of a page have not changed since
    someone last looked, so a page renders only the rows that changed: a changed row has a new key
    and nothing needs invalidating."""

    def __init__(self, size: int):
        self.size = size
        self.rendered: OrderedDict[tuple, str] = OrderedDict()
        self.lock = threading.Lock()

    def get_or_render(self, key: tuple, render: Callable[[], str]) -> str:
        with self.lock:
            html = self.rendered.get(key)
            if html is not None:
                self.rendered.move_to_end(key)
                return html
        html = render()
        with self.lock:
            self.rendered[key] = html
            if len(self.rendered) > self.size:
                self.rendered.popitem(last=False)
        return html


# About 1 KB a row: 3,000 rows (30 pages of 100) take about 3 MB per process.
RENDERED_ROWS = RenderedCache(3000)


def query_with(params: QueryDict, changes: dict) -> str:
    """`params` as a query string ("?a=1&b=2") with `changes` applied: a value replaces the
    parameter's (at the end), None drops it."""
    pairs = [
        (key, value) for key, values in params.lists() if key not in changes for value in values
    ]
    pairs += [(key, value) for key, value in changes.items() if value is not None]
    return "?" + urlencode(pairs)


def this_minute() -> datetime:
    """The start of the current minute: the "now" a list row's relative moments ("3 h ago") are
    told from. A cached row's key holds it, so a row shown a minute later is made again rather
    than left saying "just now"."""
    return datetime.fromtimestamp(int(time.time()) // 60 * 60, tz=UTC)


class LeadTable(tables.Table):
    """The lead list. A cell's markup (its classes included) is the row template's; the <th>
    attributes here are the header's. Each column's class (c-…) sets its width and its
    priority in app.css: container queries hide the least needed first as the table's container
    narrows."""

    selected = tables.Column(
        accessor="uuid", verbose_name="", orderable=False, attrs={"th": {"class": "c-sel"}}
    )
    name = tables.Column(verbose_name="Name", attrs={"th": {"class": "c-name"}})
    # Shown only to a person who sees several bots (LeadTable's `bot_names`).
    bot = tables.Column(
        accessor="bot_id",
        verbose_name="Bot",
        orderable=False,
        attrs={"th": {"class": "c-bot"}},
    )
    status = tables.Column(
        order_by=("status", "-remote_updated_at", "-id"), attrs={"th": {"class": "c-status"}}
    )
    waiting_since = tables.Column(
        verbose_name="Waiting",
        order_by=("waiting_since", "id"),
        attrs={"th": {"class": "c-wait"}},
    )
    agent_id = tables.Column(
        verbose_name="Agent",
        order_by=("agent_id", "-remote_updated_at"),
        attrs={"th": {"class": "c-agent"}},
    )
    tags = tables.Column(orderable=False, attrs={"th": {"class": "c-tags"}})
    last_message = tables.Column(
        accessor="last_message_at",
        verbose_name="Last message",
        order_by=("-last_message_at", "-id"),
        attrs={"th": {"class": "c-msg"}},
    )
    email = tables.Column(attrs={"th": {"class": "c-email"}})
    phone = tables.Column(order_by=("phone", "id"), attrs={"th": {"class": "c-phone"}})
    remote_updated_at = tables.Column(
        verbose_name="Updated",
        order_by=("remote_updated_at", "id"),
        attrs={"th": {"class": "c-upd"}},
    )

    class Meta:
        model = Lead
        fields = ("selected", "name", "email", "phone", "status", "tags", "agent_id")
        # app.css finds the cells by their position: the Bot column (shown to some) is last.
        sequence = (
            "selected",
            "name",
            "status",
            "waiting_since",
            "agent_id",
            "tags",
            "last_message",
            "email",
            "phone",
            "remote_updated_at",
            "bot",
        )
        attrs = {"class": "table table-hover table-sm align-middle lead-table", "id": "lead-table"}
        empty_text = "No leads match these filters."
        orderable = True
        template_name = "leads/lead_table.html"
        # The view validates ?per_page= (25, 50 or 100) and passes it on: this name, which no
        # request uses, keeps RequestConfig from taking any other number from the URL.
        per_page_field = "per_page_checked_by_view"

    def __init__(
        self, *args, query_string: str = "", bot_names: dict[int, str] | None = None, **kwargs
    ):
        """`query_string`: the list's filters, which links to a lead keep. `bot_names`: the
        Bot column's names by bot id, for a person who sees several bots (None: no Bot column)."""
        if bot_names is None:
            kwargs["exclude"] = (*kwargs.get("exclude", ()), "bot")
        super().__init__(*args, **kwargs)
        self.show_bot = bot_names is not None
        self.bot_names = bot_names or {}
        # Names shown for agent ids ({agent id: name}); ids without one are shown shortened.
        self.agent_names: dict[str, str] = people.names()
        # Markers of a row ({uuid: ((kind, text), …)}, e.g. new, overdue), which depend on who
        # looks and when, so they are part of the row's cache key.
        self.marks: dict[str, tuple[tuple[str, str], ...]] = {}
        self.detail_url = lead_url("leads:detail", query_string)
        self.status_url = lead_url("leads:row-status")
        # The moments of every row are shown in it (reading it is not free).
        self.time_zone = get_current_timezone()
        self.now = this_minute()
        # Third-party pictures send the agent's address to whoever serves them (settings).
        self.pictures = settings.BOTPANEL_THIRD_PARTY_IMAGES
        # Besides a row's values (its bot_id among them), what its markup depends on: its links,
        # minute, pictures and the Bot column's names (a renamed bot makes new markup); not the
        # time zone, which only the tooltips that app.js writes depend on.
        self.row_context = (
            self.detail_url(UUID_SLOT),
            self.status_url(UUID_SLOT),
            self.now,
            self.pictures,
            tuple(sorted(self.bot_names.items())) if self.show_bot else None,
        )

    def row_html(self, row: tuple, render: Callable) -> str:
        """`render(self, row)`: the markup of a row of values (ROW_FIELDS), made once for the
        same values, links, minute, agent name and markers (RENDERED_ROWS)."""
        key = (
            self.row_context,
            row_key(row),
            self.agent_names.get(row.agent_id),
            self.marks.get(row.uuid),
        )
        return RENDERED_ROWS.get_or_render(key, lambda: render(self, row))

    def order_name(self, queryset, is_descending: bool):
        """By name, leads without one after the named ones in either direction."""
        return queryset.named_first(descending=is_descending), True

    def agent_label(self, agent_id: str) -> people.AgentLabel:
        """The Agent cell's text and tooltip (the name is in the row's cache key)."""
        return people.agent_label(agent_id, self.agent_names)

    def sort_link(self, column: BoundColumn) -> str:
        """The header link of an orderable column: this page's query with the column's next
        ordering, back on the first page."""
        return query_with(
            self.request.GET,
            {
                self.prefixed_order_by_field: column.order_by_alias.next,
                self.prefixed_page_field: None,
            },
        )

    def page_link(self, number: int) -> str:
        return query_with(self.request.GET, {self.prefixed_page_field: number})


class ChangeTable(tables.Table):
    """The Activity page: every edit, newest first."""

    created_at = tables.Column(verbose_name="When")
    user = tables.Column(verbose_name="Who", default="system")
    lead = tables.Column(order_by=("lead__name",))
    action = tables.Column()
    fields = tables.Column(empty_values=(), orderable=False, verbose_name="What changed")
    state = tables.Column()
    attempts = tables.Column()
    last_error = tables.Column(verbose_name="Last error", orderable=False)

    class Meta:
        model = LeadChange
        fields = (
            "created_at",
            "user",
            "lead",
            "action",
            "fields",
            "state",
            "attempts",
            "last_error",
        )
        attrs = {"class": "table table-sm table-hover align-middle", "id": "change-table"}
        empty_text = "No edits match."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.detail_url = lead_url("leads:detail")
        # A change in words, as the lead's history says it (a Jinja2 macro).
        self.sentence = (
            engines["jinja2"]
            .env.get_template("leads/partials/history_sentence.html")
            .module.sentence
        )

    def render_created_at(self, value) -> str:
        return moment(value, now(), get_current_timezone())

    def render_lead(self, record: LeadChange) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            self.detail_url(record.lead.uuid),
            Truncator(str(record.lead)).chars(40),
        )

    def render_fields(self, record: LeadChange) -> str:
        return self.sentence(history.describe(record))

    def render_state(self, record: LeadChange) -> str:
        colour = {"pending": "warning", "failed": "danger", "delivered": "success"}.get(
            record.state, "secondary"
        )
        return format_html(
            '<span class="badge text-bg-{}">{}</span>', colour, record.get_state_display()
        )
