"""SQLite: the search index's update trigger fires only when name, email or phone really change.

A sync writes every synced column of a changed chat (`ON CONFLICT … DO UPDATE SET name = …`), so
`AFTER UPDATE OF name, email, phone` fired for every changed chat, deleting and re-adding its
trigrams even when only, say, its last message changed. Nothing changes on PostgreSQL (its search
index is pg_trgm on the columns themselves).
"""

from django.db import migrations

_SQLITE_TRIGGER = (
    "CREATE TRIGGER leads_lead_search_au AFTER UPDATE OF name, email, phone ON leads_lead {when}"
    "BEGIN "
    "INSERT INTO leads_lead_search(leads_lead_search, rowid, name, email, phone) "
    "VALUES ('delete', old.id, old.name, old.email, old.phone); "
    "INSERT INTO leads_lead_search(rowid, name, email, phone) "
    "VALUES (new.id, new.name, new.email, new.phone); END"
)
_WHEN_CHANGED = (
    "WHEN old.name IS NOT new.name OR old.email IS NOT new.email OR old.phone IS NOT new.phone "
)


def _trigger(when: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "sqlite":
            return
        schema_editor.execute("DROP TRIGGER IF EXISTS leads_lead_search_au")
        schema_editor.execute(_SQLITE_TRIGGER.format(when=when))

    return run


class Migration(migrations.Migration):
    dependencies = [("leads", "0004_roles")]

    operations = [migrations.RunPython(_trigger(_WHEN_CHANGED), _trigger(""))]
