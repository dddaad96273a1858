"""Index-backed search over name, email and phone.

SQLite: an FTS5 table with the trigram tokenizer (substring matching, case-insensitive), kept in
step with leads_lead by triggers. PostgreSQL: pg_trgm GIN indexes on the UPPER(...) expressions that
Django's icontains compares, so the same query uses them.
"""

from django.db import migrations

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE leads_lead_search USING fts5("
    "name, email, phone, content='leads_lead', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER leads_lead_search_ai AFTER INSERT ON leads_lead BEGIN "
    "INSERT INTO leads_lead_search(rowid, name, email, phone) "
    "VALUES (new.id, new.name, new.email, new.phone); END",
    "CREATE TRIGGER leads_lead_search_ad AFTER DELETE ON leads_lead BEGIN "
    "INSERT INTO leads_lead_search(leads_lead_search, rowid, name, email, phone) "
    "VALUES ('delete', old.id, old.name, old.email, old.phone); END",
    "CREATE TRIGGER leads_lead_search_au AFTER UPDATE OF name, email, phone ON leads_lead BEGIN "
    "INSERT INTO leads_lead_search(leads_lead_search, rowid, name, email, phone) "
    "VALUES ('delete', old.id, old.name, old.email, old.phone); "
    "INSERT INTO leads_lead_search(rowid, name, email, phone) "
    "VALUES (new.id, new.name, new.email, new.phone); END",
    "INSERT INTO leads_lead_search(leads_lead_search) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS leads_lead_search_au",
    "DROP TRIGGER IF EXISTS leads_lead_search_ad",
    "DROP TRIGGER IF EXISTS leads_lead_search_ai",
    "DROP TABLE IF EXISTS leads_lead_search",
]
POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS lead_name_trgm ON leads_lead USING gin (UPPER(name::text) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS lead_email_trgm ON leads_lead USING gin (UPPER(email::text) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS lead_phone_trgm ON leads_lead USING gin (UPPER(phone::text) gin_trgm_ops)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS lead_name_trgm",
    "DROP INDEX IF EXISTS lead_email_trgm",
    "DROP INDEX IF EXISTS lead_phone_trgm",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("leads", "0002_change_queue")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        )
    ]
