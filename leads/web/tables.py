"""The lead table (and its export). Rows, header and pagination are rendered in Python, and every
value that comes from the API goes through esc() (HTML escaping, quotes included)."""

import functools
import html
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from urllib.parse import quote, urlencode

import django_tables2 as tables
from django.db import connection
from django.db.models import QuerySet
from django.http import QueryDict
from django.urls import get_script_prefix, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.timezone import get_current_timezone
from django_tables2.templatetags.django_tables2 import table_page_range
from django_tables2.utils import AttributeDict, OrderBy

from leads.botpenguin.records import STATUS_LABELS
from leads.botpenguin.safety import safe_http_url
from leads.models import Lead, LeadChange, Status, initials_of, phone_text
from leads.selectors import lists as list_queries
from leads.services import SAVED_PENDING

STATUS_COLOURS = {
    "OPEN": "primary",
    "INPROGRESS": "info",
    "REVIEW": "warning",
    "ONHOLD": "secondary",
    "DEPENDANCY": "dark",
    "CLOSED": "success",
}


def esc(value: object) -> str:
    """HTML-escape (quotes too): Django's escape() without its lazy-string wrapper, which costs
    more than the escaping itself when a page has a thousand cells."""
    return html.escape(str(value))


def clip_html(text: str, length: int) -> str:
    """`text` escaped, cut to `length` characters with an ellipsis when cut. The list writes
    its dashes and ellipses as entities: a page whose every character is Latin-1 is joined and
    encoded byte for byte, while one character beyond (a dash, an ellipsis) makes Python widen
    the whole 200 KB page at every join (a millisecond for 100 rows)."""
    if len(text) <= length:
        return esc(text)
    return esc(text[: length - 1]) + "&hellip;"


# What a row shows (LeadTable.row_html), and nothing else, in this order: the list fetches these
# straight from the database (list_queries.page_rows), without a model instance or Django's
# per-value conversion for each, which cost more than rendering the row.
LIST_FIELDS = ("id", "uuid", "name", "email", "phone", "dial_code", "picture", "status",
               "agent_id", "tags", "last_message_at", "last_message_by", "last_message_text",
               "remote_updated_at", "missing_since", "version", "change_state")  # fmt: skip


def list_values(lead: Lead) -> tuple:
    """A lead as the list's rows hold it (LIST_FIELDS), for rendering one row."""
    return tuple(getattr(lead, name) for name in LIST_FIELDS)


NO_STATUS_BADGE = '<span class="badge text-bg-light border">No status</span>'
STATUS_BADGES = {
    value: f'<span class="badge text-bg-{STATUS_COLOURS[value]} status-badge">{esc(label)}</span>'
    for value, label in Status.choices
}


def status_badge_html(status: str) -> str:
    """The status as a coloured badge; plain text, escaped."""
    if not status:
        return NO_STATUS_BADGE
    if badge := STATUS_BADGES.get(status):
        return badge
    label = STATUS_LABELS.get(status)
    return f'<span class="badge text-bg-light status-badge">{esc(label) if label else "&mdash;"}</span>'


def status_badge(lead: Lead) -> str:
    return mark_safe(status_badge_html(lead.status))


def avatar_html(picture: str, name: str, email: str) -> str:
    """The picture (an http(s) URL only) or the initials; plain text, escaped."""
    initials = esc(initials_of(name, email))
    if url := safe_http_url(picture):
        return (
            f'<img class="avatar" src="{esc(url)}" alt="" loading="lazy" '
            f'referrerpolicy="no-referrer" data-initials="{initials}">'
        )
    return f'<span class="avatar avatar-initials">{initials}</span>'


PENDING_BADGE = mark_safe(
    '<span class="badge text-bg-warning change-badge" title="Saved in BotPanel, waiting to be '
    'sent to BotPenguin">Pending</span>'
)
FAILED_BADGE = mark_safe(
    '<span class="badge text-bg-danger change-badge" title="BotPenguin refused an edit: open the '
    'lead to retry or discard it">Failed</span>'
)
CHANGE_BADGES = {"pending": PENDING_BADGE, "failed": FAILED_BADGE}


def change_badge(lead: Lead) -> str:
    return CHANGE_BADGES.get(lead.change_state, "")


MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _is_utc(tz: tzinfo) -> bool:
    return tz is UTC or getattr(tz, "key", None) == "UTC"


def _when(value: datetime | None, tz: tzinfo | None = None, db_tz: tzinfo | None = None) -> str:
    """A moment as the tables show it ("05 Oct 2026 14:03"), in `tz` (the current time zone).
    A naive `value` is one as SQLite returns it to the list's rows: in `db_tz`, the connection's
    time zone (UTC unless DATABASES says otherwise). UTC shown as UTC is not converted (a
    conversion costs more than the formatting)."""
    if not value:
        return ""
    tz = tz or get_current_timezone()
    if value.tzinfo is None:
        db_tz = db_tz or connection.timezone
        if not (_is_utc(db_tz) and _is_utc(tz)):
            value = value.replace(tzinfo=db_tz).astimezone(tz)
    elif not (_is_utc(tz) and _is_utc(value.tzinfo)):
        value = value.astimezone(tz)
    return "%02d %s %04d %02d:%02d" % (  # noqa: UP031  (a quarter faster than the f-string)
        value.day,
        MONTHS[value.month],
        value.year,
        value.hour,
        value.minute,
    )


@functools.cache
def _constant_row_parts(script_prefix: str) -> dict:
    """What every row shares: URL halves around the uuid, the status <option>s for each current
    status, the cells' attributes. Built once per process (and URL prefix): for a one-row
    response (an inline status edit) building them cost more than the row."""
    placeholder = "00PLACEHOLDER00"
    options = {}
    for current in ["", *Status.values]:
        options[current] = (
            "" if current else '<option value="" selected>&mdash;</option>'
        ) + "".join(
            f'<option value="{value}"{" selected" if value == current else ""}>{label}</option>'
            for value, label in Status.choices
        )
    return {
        "detail": reverse("leads:detail", args=[placeholder]).split(placeholder),
        "status": reverse("leads:row-status", args=[placeholder]).split(placeholder),
        "options": options,
        "td": {
            name: format_html_join("", ' {}="{}"', attrs.items())
            for name in LeadTable.Meta.sequence
            if (attrs := LeadTable.base_columns[name].attrs.get("td", {}))
        },
    }


@functools.cache
def _header_cells(table_class: type[tables.Table]) -> list[tuple[str, str, dict, bool]]:
    """(name, escaped header, <th> attributes unsorted, orderable) of each column, as
    django-tables2 makes them, resolved once: a column's header and attributes cost more than a
    row, and only the sorted column's class ("asc"/"desc") changes from page to page."""
    unsorted = table_class([])
    return [
        (column.name, esc(column.header), dict(column.attrs["th"]), column.orderable)
        for column in unsorted.columns
    ]


# A uuid of only these characters needs neither URL quoting nor HTML escaping (BotPenguin's are
# hex); any other goes through both.
_PLAIN_UUID = re.compile(r"[A-Za-z0-9_.~-]+")


class RowWriter:
    """Writes the list's rows (<tr>…</tr>) from their LIST_FIELDS values, as
    list_queries.page_rows returns them (on SQLite tags are JSON text and timestamps naive) or
    list_values makes them from a lead. One per table: it remembers the escaped text of the
    values that repeat from row to row (agents, tags, authors), so a page escapes each once."""

    def __init__(self, *, query_string: str = "", row_errors: dict | None = None):
        parts = _constant_row_parts(get_script_prefix())
        self.detail, self.status_url = parts["detail"], parts["status"]
        self.options, self.td = parts["options"], parts["td"]
        self.suffix = f"?{esc(query_string)}" if query_string else ""
        self.row_errors = row_errors or {}
        self.tz, self.db_tz = get_current_timezone(), connection.timezone
        self.repeated: dict[str, str] = {}
        self.chips: dict[str, str] = {}
        self.tag_cells: dict[str | tuple, str] = {}

    def known(self, value: str) -> str:
        """esc(value), remembered: for values that repeat across rows."""
        text = self.repeated.get(value)
        if text is None:
            text = self.repeated[value] = esc(value)
        return text

    def tags_html(self, tags: str | list) -> str:
        """The tag chips of a row, from its tags as the database gives them (JSON text on
        SQLite, a list on PostgreSQL); remembered, as the same few tags recur on a page."""
        key = tags if isinstance(tags, str) else tuple(map(str, tags))
        cell = self.tag_cells.get(key)
        if cell is None:
            listed = json.loads(tags) if isinstance(tags, str) else tags
            cell = self.tag_cells[key] = " ".join([self.chip(str(t)) for t in listed[:6]])
        return cell

    def chip(self, tag: str) -> str:
        html_ = self.chips.get(tag)
        if html_ is None:
            html_ = self.chips[tag] = (
                f'<span class="badge rounded-pill text-bg-light border tag-chip">{esc(tag)}</span>'
            )
        return html_

    def row(self, values: tuple) -> str:
        (_id, uuid, name, email, phone, dial_code, picture, status, agent_id, tags,
         last_message_at, last_message_by, last_message_text, remote_updated_at, missing_since,
         version, change_state) = values  # fmt: skip
        td, tz, db_tz = self.td, self.tz, self.db_tz
        if _PLAIN_UUID.fullmatch(uuid):
            path_uuid = uuid_text = uuid
        else:
            path_uuid, uuid_text = esc(quote(uuid, safe="")), esc(uuid)
        label = clip_html(name or email or uuid, 60)
        missing = ' <span class="badge text-bg-secondary">missing</span>' if missing_since else ""
        note = ""
        if self.row_errors and (error := self.row_errors.get(uuid)):
            tone = "text-warning-emphasis" if error == SAVED_PENDING else "text-danger"
            note = f'<div class="{tone} row-error" role="alert">{esc(error)}</div>'
        chips = self.tags_html(tags)
        if last_message_at or last_message_text:
            message = (
                f'<div class="text-muted">{_when(last_message_at, tz, db_tz)} · '
                f"{self.known(last_message_by)}</div>"
                f'<div class="text-truncate">{clip_html(last_message_text, 80)}</div>'
            )
        else:
            message = "&mdash;"
        avatar = avatar_html(picture, name, email)
        email, agent = esc(email), self.known(agent_id)
        return (
            f'<tr data-uuid="{uuid_text}" tabindex="-1">'
            f'<td{td.get("selected", "")}><input class="form-check-input" type="checkbox" '
            f'name="selected" value="{uuid_text}" form="bulk-form" aria-label="Select"></td>'
            f'<td><div class="d-flex align-items-center gap-2">{avatar}'
            f'<a class="lead-link" href="{self.detail[0]}{path_uuid}{self.detail[1]}{self.suffix}">'
            f"{label}</a>{missing}</div></td>"
            f'<td{td.get("email", "")}><span title="{email}">{email}</span></td>'
            f"<td{td.get('phone', '')}>{esc(phone_text(dial_code, phone))}</td>"
            f'<td><div class="d-flex flex-column gap-1"><div>{status_badge_html(status)} '
            f'{CHANGE_BADGES.get(change_state, "")}</div><select name="status" class="form-select '
            f'form-select-sm js-row-status" aria-label="Status" '
            f'hx-post="{self.status_url[0]}{path_uuid}{self.status_url[1]}" hx-trigger="change" '
            f'hx-target="closest tr" hx-swap="outerHTML" hx-include="#lead-table-query" '
            f"""hx-vals='{{"version": {int(version)}}}'>"""
            f"{self.options.get(status, self.options[''])}</select>{note}</div></td>"
            f"<td{td.get('tags', '')}>{chips}</td>"
            f'<td{td.get("agent_id", "")}><span title="{agent}">{agent}</span></td>'
            f"<td{td.get('last_message', '')}>{message}</td>"
            f"<td{td.get('remote_updated_at', '')}>{_when(remote_updated_at, tz, db_tz)}</td></tr>"
        )


class SharedColumn(tables.Column):
    """A column every LeadTable shares rather than copies: django-tables2 deep-copies each column
    for each table (a tenth of a list page's time). Nothing changes a LeadTable column once the
    class is built (no hide()/show(); a table's own state lives on its bound columns)."""

    def __deepcopy__(self, memo):
        return self


class LeadTable(tables.Table):
    selected = SharedColumn(
        accessor="uuid", verbose_name="", orderable=False, attrs={"td": {"class": "text-center"}}
    )
    name = SharedColumn(verbose_name="Name", order_by=("name", "id"))
    email = SharedColumn(attrs={"td": {"class": "cell-clip d-none d-lg-table-cell"},
                                 "th": {"class": "d-none d-lg-table-cell"}})  # fmt: skip
    phone = SharedColumn(order_by=("phone", "id"), attrs={
        "td": {"class": "d-none d-lg-table-cell text-nowrap"}, "th": {"class": "d-none d-lg-table-cell"}})  # fmt: skip
    status = SharedColumn(order_by=("status", "-remote_updated_at", "-id"))
    tags = SharedColumn(orderable=False, attrs={
        "td": {"class": "d-none d-md-table-cell"}, "th": {"class": "d-none d-md-table-cell"}})  # fmt: skip
    agent_id = SharedColumn(verbose_name="Agent", order_by=("agent_id", "-remote_updated_at"), attrs={
        "td": {"class": "d-none d-xl-table-cell small cell-clip"}, "th": {"class": "d-none d-xl-table-cell"}})  # fmt: skip
    last_message = SharedColumn(
        accessor="last_message_at", verbose_name="Last message", order_by=("-last_message_at", "-id"),
        attrs={"td": {"class": "d-none d-md-table-cell last-message small"}, "th": {"class": "d-none d-md-table-cell"}},
    )  # fmt: skip
    remote_updated_at = SharedColumn(
        verbose_name="Updated", order_by=("remote_updated_at", "id"),
        attrs={"td": {"class": "small text-nowrap"}},
    )  # fmt: skip

    class Meta:
        model = Lead
        fields = ("selected", "name", "email", "phone", "status", "tags", "agent_id")
        sequence = ("selected", "name", "email", "phone", "status", "tags", "agent_id",
                    "last_message", "remote_updated_at")  # fmt: skip
        attrs = {"class": "table table-hover table-sm align-middle", "id": "lead-table"}
        row_attrs = {"data-uuid": lambda record: record.uuid, "tabindex": "-1"}
        empty_text = "No leads match these filters."
        orderable = True

    def __init__(self, *args, query_string: str = "", row_errors: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # The view validates ?per_page= (25, 50 or 100); keep RequestConfig from taking any
        # other number straight from the URL.
        self.per_page_field = "_per_page_checked_by_view"
        self.query_string = query_string
        self.row_errors = row_errors or {}

    # Rows are rendered in Python rather than through a template per cell: for 100 rows that is
    # the difference between ~200 ms and a few ms. Every value from the API is escaped.
    @cached_property
    def _writer(self) -> "RowWriter":
        return RowWriter(query_string=self.query_string, row_errors=self.row_errors)

    def row_html(self, lead: Lead) -> str:
        return mark_safe(self._writer.row(list_values(lead)))

    def rows_html(self, rows: list[tuple]) -> str:
        return "".join(map(self._writer.row, rows))

    def page_values(self) -> list[tuple]:
        """The current page's rows (all rows without a page) as LIST_FIELDS tuples."""
        page = getattr(self, "page", None)
        data = page.object_list.data if page is not None else self.data.data
        if isinstance(data, QuerySet):
            if data.query.values_select != LIST_FIELDS:
                data = data.values_list(*LIST_FIELDS)
            return list_queries.page_rows(data)
        return [row if isinstance(row, tuple) else list_values(row) for row in data]

    def html(self, params: QueryDict) -> str:
        """The whole table: header with sort links, rows, pagination; the markup of
        django-tables2's bootstrap5-responsive template, built here for the same reason as the
        rows (its template tags cost more than the rows themselves). `params`: the request's
        query string, which every link keeps."""

        kept = [(key, values) for key, values in params.lists()]

        def link(changes: dict) -> str:
            """The current query string with `changes` applied (None drops a parameter)."""
            pairs = [(key, v) for key, values in kept if key not in changes for v in values]
            pairs += [(key, value) for key, value in changes.items() if value is not None]
            return esc("?" + urlencode(pairs))

        head = []
        ordering = self.order_by or ()
        for name, text, th, orderable in _header_cells(type(self)):
            attrs = th
            if orderable:
                alias = OrderBy(name)
                if name in ordering:  # as django-tables2's BoundColumn: asc/desc, and its toggle
                    current = ordering[name]
                    classes = {
                        *th.get("class", "").split(),
                        current.is_descending and "desc" or "asc",
                    }
                    attrs = {**th, "class": " ".join(sorted(classes))}
                    alias = current.opposite
                sort = {self.prefixed_order_by_field: alias, self.prefixed_page_field: None}
                text = f'<a href="{link(sort)}">{text}</a>'
            attrs_html = AttributeDict(attrs).as_html()
            head.append(f'<th{" " + attrs_html if attrs_html else ""} scope="col">{text}</th>')
        rows = self.page_values()
        if rows:
            body = self.rows_html(rows)
        else:
            body = f'<tr><td colspan="{len(self.columns)}">{esc(self.empty_text)}</td></tr>'
        table = (
            f"<table {AttributeDict(self.attrs).as_html()}><thead><tr>{''.join(head)}</tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )
        return mark_safe(
            f'<div class="table-container table-responsive">{table}{self.pagination_html(link)}</div>'
        )

    def pagination_html(self, link) -> str:
        page = getattr(self, "page", None)
        if page is None or self.paginator.num_pages <= 1:
            return ""
        field = self.prefixed_page_field
        items = []
        if page.has_previous():
            items.append(
                f'<li class="previous page-item"><a href="{link({field: page.previous_page_number()})}"'
                ' class="page-link"><span aria-hidden="true">&laquo;</span> previous</a></li>'
            )
        for number in table_page_range(page, self.paginator):
            active = " active" if number == page.number else ""
            href = "" if number == "..." else f' href="{link({field: number})}"'
            items.append(
                f'<li class="page-item{active}"><a class="page-link"{href}>{number}</a></li>'
            )
        if page.has_next():
            items.append(
                f'<li class="next page-item"><a href="{link({field: page.next_page_number()})}" '
                'class="page-link">next <span aria-hidden="true">&raquo;</span></a></li>'
            )
        return (
            '<nav aria-label="Table navigation"><ul class="pagination justify-content-center">'
            f"{''.join(items)}</ul></nav>"
        )


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Spreadsheet formula injection: a cell starting with = + - @ is made plain text."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class LeadExportTable(tables.Table):
    """Every field, flattened readably, for CSV and XLSX."""

    uuid = tables.Column()
    remote_id = tables.Column(verbose_name="BotPenguin id")
    is_lead = tables.Column(verbose_name="Lead")
    name = tables.Column()
    email = tables.Column()
    dial_code = tables.Column(verbose_name="Dial code")
    phone = tables.Column()
    status = tables.Column(accessor="status_label", verbose_name="Status")
    agent_id = tables.Column(verbose_name="Agent")
    tags = tables.Column()
    notes = tables.Column()
    attributes = tables.Column()
    picture = tables.Column()
    city = tables.Column()
    country = tables.Column()
    gender = tables.Column()
    last_message_at = tables.Column(verbose_name="Last message at")
    last_message_by = tables.Column(verbose_name="Last message by")
    last_message_text = tables.Column(verbose_name="Last message")
    last_seen_at = tables.Column(verbose_name="Last seen")
    is_online = tables.Column(verbose_name="Online")
    website_visits = tables.Column(verbose_name="Website visits")
    remote_created_at = tables.Column(verbose_name="Created")
    remote_updated_at = tables.Column(verbose_name="Updated")
    synced_at = tables.Column(verbose_name="Synced")
    missing_since = tables.Column(verbose_name="Missing since")

    class Meta:
        model = Lead
        fields = ()

    def value_is_lead(self, value):
        return "yes" if value else "no"

    def value_is_online(self, value):
        return "yes" if value else "no"

    def value_tags(self, value):
        return ", ".join(value or [])

    def value_notes(self, value):
        return " | ".join(f"{n.get('title', '')}: {n.get('description', '')}" for n in value or [])

    def value_attributes(self, value):
        return "; ".join(f"{a.get('key', '')}={a.get('value', '')}" for a in value or [])

    def as_values(self, exclude_columns=None) -> Iterator[list]:
        for row in super().as_values(exclude_columns):
            yield [neutralise(v.isoformat() if hasattr(v, "isoformat") else v) for v in row]


class ChangeTable(tables.Table):
    """The Activity page: every edit, newest first."""

    created_at = tables.Column(verbose_name="When")
    user = tables.Column(verbose_name="Who", default="system")
    lead = tables.Column(order_by=("lead__name",))
    action = tables.Column()
    fields = tables.Column(empty_values=(), orderable=False, verbose_name="Fields")
    state = tables.Column()
    attempts = tables.Column()
    last_error = tables.Column(verbose_name="Last error", orderable=False)

    class Meta:
        model = LeadChange
        fields = ("created_at", "user", "lead", "action", "fields", "state", "attempts",
                  "last_error")  # fmt: skip
        attrs = {"class": "table table-sm table-hover align-middle", "id": "change-table"}
        empty_text = "No edits match."

    def render_created_at(self, value) -> str:
        return _when(value)

    def render_lead(self, record: LeadChange) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("leads:detail", args=[record.lead.uuid]),
            Truncator(str(record.lead)).chars(40),
        )

    def render_fields(self, record: LeadChange) -> str:
        return ", ".join(record.after)

    def render_state(self, record: LeadChange) -> str:
        colour = {"pending": "warning", "failed": "danger", "delivered": "success"}.get(
            record.state, "secondary"
        )
        return format_html(
            '<span class="badge text-bg-{}">{}</span>', colour, record.get_state_display()
        )
