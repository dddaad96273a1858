"""The lead list's export (CSV and XLSX, through django-tables2's ExportMixin): every field,
flattened readably, with spreadsheet formulas neutralised."""

from collections.abc import Iterator

import django_tables2 as tables

from leads.models import Lead
from leads.selectors import people

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
    # The person's name (empty for an id nobody is linked to), and the id itself beside it.
    agent = tables.Column(accessor="agent_id", verbose_name="Agent")
    agent_id = tables.Column(verbose_name="Agent id")
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.agent_names = people.names()  # read once for every row

    def value_agent(self, value):
        return self.agent_names.get(value or "", "")

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
