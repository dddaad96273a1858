"""The (bot_id, uuid) unique constraint becomes (uuid, bot_id): pages and edits look a lead up by
uuid alone, which PostgreSQL cannot do through an index that starts with bot_id (it read the whole
table: 59 ms a lookup at 1,000,000 leads). Uniqueness and the sync's ON CONFLICT (bot_id, uuid)
are the same with either order.

SQLite already serves a uuid lookup from the old index (a skip-scan over the few bot ids), and it
can only change a table's own constraint by rebuilding the table, which would drop the search
triggers; so there the database keeps the old index and only Django's state changes."""

from django.db import migrations, models

NEW = models.UniqueConstraint(fields=("uuid", "bot_id"), name="lead_unique_uuid_bot")
OLD = models.UniqueConstraint(fields=("bot_id", "uuid"), name="lead_unique_bot_uuid")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        return
    lead = apps.get_model("leads", "Lead")
    schema_editor.add_constraint(lead, NEW)  # the new one first: never without uniqueness
    schema_editor.remove_constraint(lead, OLD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        return
    lead = apps.get_model("leads", "Lead")
    schema_editor.add_constraint(lead, OLD)
    schema_editor.remove_constraint(lead, NEW)


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0006_sync_lease"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddConstraint(model_name="lead", constraint=NEW),
                migrations.RemoveConstraint(model_name="lead", name="lead_unique_bot_uuid"),
            ],
            database_operations=[migrations.RunPython(forward, backward)],
        ),
    ]
