"""SQLite's search triggers on leads_lead (migrations 0003 and 0005), for the migrations that
rebuild that table: SQLite drops a table's triggers with it."""

TRIGGERS = [
    "CREATE TRIGGER leads_lead_search_ai AFTER INSERT ON leads_lead BEGIN "
    "INSERT INTO leads_lead_search(rowid, name, email, phone) "
    "VALUES (new.id, new.name, new.email, new.phone); END",
    "CREATE TRIGGER leads_lead_search_ad AFTER DELETE ON leads_lead BEGIN "
    "INSERT INTO leads_lead_search(leads_lead_search, rowid, name, email, phone) "
    "VALUES ('delete', old.id, old.name, old.email, old.phone); END",
    "CREATE TRIGGER leads_lead_search_au AFTER UPDATE OF name, email, phone ON leads_lead "
    "WHEN old.name IS NOT new.name OR old.email IS NOT new.email OR old.phone IS NOT new.phone "
    "BEGIN "
    "INSERT INTO leads_lead_search(leads_lead_search, rowid, name, email, phone) "
    "VALUES ('delete', old.id, old.name, old.email, old.phone); "
    "INSERT INTO leads_lead_search(rowid, name, email, phone) "
    "VALUES (new.id, new.name, new.email, new.phone); END",
]


def create_search_triggers(apps, schema_editor):
    """(Re)create the triggers and rebuild the index from the table (SQLite only)."""
    if schema_editor.connection.vendor != "sqlite":
        return
    for name in ("ai", "ad", "au"):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS leads_lead_search_{name}")
    for statement in TRIGGERS:
        schema_editor.execute(statement)
    schema_editor.execute("INSERT INTO leads_lead_search(leads_lead_search) VALUES ('rebuild')")
