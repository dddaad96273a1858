"""The lead table (and its export). Cells are rendered by small methods with format_html, which
escapes everything that comes from the API."""

from collections.abc import Iterator

import django_tables2 as tables
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
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
    return date_format(localtime(value), "SHORT_DATETIME_FORMAT") if value else ""


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

    def render_selected(self, record: Lead) -> str:
        return format_html(
            '<input class="form-check-input" type="checkbox" name="selected" value="{}" '
            'form="bulk-form" aria-label="Select">',
            record.uuid,
        )

    def render_name(self, record: Lead) -> str:
        url = reverse("leads:detail", args=[record.uuid])
        if self.query_string:
            url = f"{url}?{self.query_string}"
        label = record.name or record.email or record.uuid
        return format_html(
            '<div class="d-flex align-items-center gap-2">{}<a class="lead-link" href="{}">{}</a>'
            "{}</div>",
            avatar(record),
            url,
            Truncator(label).chars(60),
            mark_safe(' <span class="badge text-bg-secondary">missing</span>')
            if record.missing_since
            else "",
        )

    def render_email(self, record: Lead) -> str:
        return format_html('<span title="{}">{}</span>', record.email, record.email)

    def render_agent_id(self, record: Lead) -> str:
        return format_html('<span title="{}">{}</span>', record.agent_id, record.agent_id)

    def render_phone(self, record: Lead) -> str:
        return record.phone_display

    def render_status(self, record: Lead) -> str:
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((value, " selected" if value == record.status else "", label)
             for value, label in Status.choices),
        )  # fmt: skip
        error = self.row_errors.get(record.uuid)
        return format_html(
            '<div class="d-flex flex-column gap-1"><div>{} {}</div>'
            '<select name="status" class="form-select form-select-sm js-row-status" '
            'aria-label="Status" hx-post="{}" hx-trigger="change" hx-target="closest tr" '
            'hx-swap="outerHTML" hx-include="#lead-table-query" hx-vals=\'{{"version": {}}}\'>'
            "{}{}</select>{}</div>",
            status_badge(record),
            change_badge(record),
            reverse("leads:row-status", args=[record.uuid]),
            record.version,
            "" if record.status else mark_safe('<option value="" selected>—</option>'),
            options,
            format_html(
                '<div class="{} row-error" role="alert">{}</div>',
                "text-warning-emphasis" if error == SAVED_PENDING else "text-danger",
                error,
            )
            if error
            else "",
        )

    def render_tags(self, record: Lead) -> str:
        return format_html_join(
            " ",
            '<span class="badge rounded-pill text-bg-light border tag-chip">{}</span>',
            ((tag,) for tag in record.tags[:6]),
        )

    def render_last_message(self, record: Lead) -> str:
        return format_html(
            '<div class="text-muted">{} · {}</div><div class="text-truncate">{}</div>',
            _when(record.last_message_at),
            record.last_message_by,
            Truncator(record.last_message_text).chars(80),
        )

    def render_remote_updated_at(self, record: Lead) -> str:
        return _when(record.remote_updated_at)


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
