"""The lead table (and its export). Cells are rendered by small methods with format_html, which
escapes everything that comes from the API."""

from collections.abc import Iterator
from urllib.parse import quote

import django_tables2 as tables
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.timezone import localtime

from leads.models import Lead, LeadChange, Status
from leads.services import SAVED_PENDING

STATUS_COLOURS = {
    "OPEN": "primary",
    "INPROGRESS": "info",
    "REVIEW": "warning",
    "ONHOLD": "secondary",
    "DEPENDANCY": "dark",
    "CLOSED": "success",
}


def status_badge(lead: Lead) -> str:
    if not lead.status:
        return mark_safe('<span class="badge text-bg-light border">No status</span>')
    return format_html(
        '<span class="badge text-bg-{} status-badge">{}</span>',
        STATUS_COLOURS.get(lead.status, "light"),
        lead.status_label,
    )


def avatar(lead: Lead, size: str = "") -> str:
    if url := lead.picture_url:
        return format_html(
            '<img class="avatar {}" src="{}" alt="" loading="lazy" referrerpolicy="no-referrer" '
            'data-initials="{}">',
            size,
            url,
            lead.initials,
        )
    return format_html('<span class="avatar avatar-initials {}">{}</span>', size, lead.initials)


PENDING_BADGE = mark_safe(
    '<span class="badge text-bg-warning change-badge" title="Saved in BotPanel, waiting to be '
    'sent to BotPenguin">Pending</span>'
)
FAILED_BADGE = mark_safe(
    '<span class="badge text-bg-danger change-badge" title="BotPenguin refused an edit: open the '
    'lead to retry or discard it">Failed</span>'
)


def change_badge(lead: Lead) -> str:
    if lead.change_state == "pending":
        return PENDING_BADGE
    if lead.change_state == "failed":
        return FAILED_BADGE
    return ""


def _when(value) -> str:
    return localtime(value).strftime("%d %b %Y %H:%M") if value else ""


class LeadTable(tables.Table):
    selected = tables.Column(
        accessor="uuid", verbose_name="", orderable=False, attrs={"td": {"class": "text-center"}}
    )
    name = tables.Column(verbose_name="Name", order_by=("name", "id"))
    email = tables.Column(attrs={"td": {"class": "cell-clip d-none d-lg-table-cell"},
                                 "th": {"class": "d-none d-lg-table-cell"}})  # fmt: skip
    phone = tables.Column(order_by=("phone", "id"), attrs={
        "td": {"class": "d-none d-lg-table-cell text-nowrap"}, "th": {"class": "d-none d-lg-table-cell"}})  # fmt: skip
    status = tables.Column(order_by=("status", "-remote_updated_at", "-id"))
    tags = tables.Column(orderable=False, attrs={
        "td": {"class": "d-none d-md-table-cell"}, "th": {"class": "d-none d-md-table-cell"}})  # fmt: skip
    agent_id = tables.Column(verbose_name="Agent", order_by=("agent_id", "-remote_updated_at"), attrs={
        "td": {"class": "d-none d-xl-table-cell small cell-clip"}, "th": {"class": "d-none d-xl-table-cell"}})  # fmt: skip
    last_message = tables.Column(
        accessor="last_message_at", verbose_name="Last message", order_by=("-last_message_at", "-id"),
        attrs={"td": {"class": "d-none d-md-table-cell last-message small"}, "th": {"class": "d-none d-md-table-cell"}},
    )  # fmt: skip
    remote_updated_at = tables.Column(
        verbose_name="Updated", order_by=("remote_updated_at", "id"),
        attrs={"td": {"class": "small text-nowrap"}},
    )  # fmt: skip

    class Meta:
        model = Lead
        fields = ("selected", "name", "email", "phone", "status", "tags", "agent_id")
        sequence = ("selected", "name", "email", "phone", "status", "tags", "agent_id",
                    "last_message", "remote_updated_at")  # fmt: skip
        template_name = "leads/partials/lead_table.html"
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

    # Rows are rendered here rather than through a template per cell: for 100 rows that is the
    # difference between ~200 ms and a few ms. Every value from the API goes through escape().
    @cached_property
    def _row_parts(self) -> dict:
        placeholder = "00PLACEHOLDER00"
        options = {}
        for current in ["", *Status.values]:
            options[current] = (
                "" if current else '<option value="" selected>—</option>'
            ) + "".join(
                f'<option value="{value}"{" selected" if value == current else ""}>{label}</option>'
                for value, label in Status.choices
            )
        return {
            "detail": reverse("leads:detail", args=[placeholder]).split(placeholder),
            "status": reverse("leads:row-status", args=[placeholder]).split(placeholder),
            "suffix": f"?{escape(self.query_string)}" if self.query_string else "",
            "options": options,
            "td": {
                name: format_html_join("", ' {}="{}"', attrs.items())
                for name in self.sequence
                if (attrs := self.base_columns[name].attrs.get("td", {}))
            },
        }

    def row_html(self, record: Lead) -> str:
        p = self._row_parts
        td = p["td"]
        uuid = escape(record.uuid)
        path_uuid = escape(quote(record.uuid, safe=""))
        label = escape(Truncator(record.name or record.email or record.uuid).chars(60))
        missing = (
            ' <span class="badge text-bg-secondary">missing</span>' if record.missing_since else ""
        )
        error = self.row_errors.get(record.uuid)
        note = ""
        if error:
            tone = "text-warning-emphasis" if error == SAVED_PENDING else "text-danger"
            note = f'<div class="{tone} row-error" role="alert">{escape(error)}</div>'
        tags = " ".join(
            f'<span class="badge rounded-pill text-bg-light border tag-chip">{escape(t)}</span>'
            for t in record.tags[:6]
        )
        if record.last_message_at or record.last_message_text:
            message = (
                f'<div class="text-muted">{_when(record.last_message_at)} · '
                f"{escape(record.last_message_by)}</div>"
                f'<div class="text-truncate">{escape(Truncator(record.last_message_text).chars(80))}</div>'
            )
        else:
            message = "—"
        email, agent = escape(record.email), escape(record.agent_id)
        cells = (
            f'<td{td.get("selected", "")}><input class="form-check-input" type="checkbox" '
            f'name="selected" value="{uuid}" form="bulk-form" aria-label="Select"></td>'
            f'<td><div class="d-flex align-items-center gap-2">{avatar(record)}<a class="lead-link" '
            f'href="{p["detail"][0]}{path_uuid}{p["detail"][1]}{p["suffix"]}">{label}</a>{missing}</div></td>'
            f'<td{td.get("email", "")}><span title="{email}">{email}</span></td>'
            f"<td{td.get('phone', '')}>{escape(record.phone_display)}</td>"
            f'<td><div class="d-flex flex-column gap-1"><div>{status_badge(record)} '
            f'{change_badge(record)}</div><select name="status" class="form-select form-select-sm '
            f'js-row-status" aria-label="Status" hx-post="{p["status"][0]}{path_uuid}{p["status"][1]}" '
            f'hx-trigger="change" hx-target="closest tr" hx-swap="outerHTML" '
            f'hx-include="#lead-table-query" hx-vals=\'{{"version": {int(record.version)}}}\'>'
            f"{p['options'].get(record.status, p['options'][''])}</select>{note}</div></td>"
            f"<td{td.get('tags', '')}>{tags}</td>"
            f'<td{td.get("agent_id", "")}><span title="{agent}">{agent}</span></td>'
            f"<td{td.get('last_message', '')}>{message}</td>"
            f"<td{td.get('remote_updated_at', '')}>{_when(record.remote_updated_at)}</td>"
        )
        return mark_safe(f'<tr data-uuid="{uuid}" tabindex="-1">{cells}</tr>')

    def rows_html(self) -> str:
        rows = self.page.object_list if hasattr(self, "page") else self.rows
        return mark_safe("".join(self.row_html(row.record) for row in rows))


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
