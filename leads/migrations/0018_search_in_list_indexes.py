"""The list's two order indexes hold name, email and phone on PostgreSQL (INCLUDE), so that a
search matching many leads is tested in the index (selectors.filters.LeadFilter.filter_q). SQLite
has no INCLUDE: there the indexes are made again as they were."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0017_lead_missing_index"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="lead",
            name="lead_kind_updated",
        ),
        migrations.RemoveIndex(
            model_name="lead",
            name="lead_bot_kind_updated",
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(
                fields=["is_lead", "-remote_updated_at", "-id"],
                include=("name", "email", "phone"),
                name="lead_kind_updated",
            ),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(
                fields=["bot", "is_lead", "-remote_updated_at", "-id"],
                include=("name", "email", "phone"),
                name="lead_bot_kind_updated",
            ),
        ),
    ]
