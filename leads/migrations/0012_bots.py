"""Several bots: the Bot model; every lead, sync run and sync lease belongs to a bot.

An existing installation's leads become the leads of a bot made from their Bot ID and Customer
ID: the bot named BOTPENGUIN_BOT_NAME when they are the environment's, else named after the Bot
ID. Their changes (pending ones included) and history stay attached, nothing is re-synced; the
environment's bot keeps reading its URL and token from the BOTPENGUIN_* settings
(leads.bots.config). A bot added with `addbot` for leads of another Bot ID gets its token there.
The single sync lease row is dropped: leases are per bot now and made on demand.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from leads.migrations._search_triggers import create_search_triggers


def attach_leads_to_bots(apps, schema_editor):
    Bot = apps.get_model("leads", "Bot")
    Lead = apps.get_model("leads", "Lead")
    SyncRun = apps.get_model("leads", "SyncRun")
    environment_bot = settings.BOTPENGUIN_BOT_ID.strip()
    pairs = Lead.objects.order_by().values_list("bot_id", "customer_id").distinct()
    for remote_bot_id, customer_id in sorted(pairs):
        from_environment = (
            remote_bot_id == environment_bot
            and not Bot.objects.filter(from_environment=True).exists()
        )
        name = settings.BOTPENGUIN_BOT_NAME[:90] if from_environment else remote_bot_id[:90]
        while not name or Bot.objects.filter(name=name).exists():
            name += "'"
        bot = Bot.objects.create(
            name=name,
            api_url=settings.BOTPENGUIN_API_URL.strip(),
            remote_bot_id=remote_bot_id,
            customer_id=customer_id,
            from_environment=from_environment,
        )
        Lead.objects.filter(bot_id=remote_bot_id, customer_id=customer_id).update(bot_ref=bot)
    if Bot.objects.count() == 1:
        SyncRun.objects.update(bot=Bot.objects.get())


def drop_sync_lease(apps, schema_editor):
    apps.get_model("leads", "SyncLease").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0011_change_verified"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Bot",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100, unique=True)),
                ("api_url", models.CharField(max_length=500, verbose_name="API base URL")),
                ("remote_bot_id", models.CharField(max_length=255, verbose_name="Bot ID")),
                ("customer_id", models.CharField(max_length=255, verbose_name="Customer ID")),
                ("token_encrypted", models.TextField(blank=True, editable=False)),
                (
                    "active",
                    models.BooleanField(default=True, help_text="Synced and delivered to"),
                ),
                ("from_environment", models.BooleanField(default=False, editable=False)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "members",
                    models.ManyToManyField(
                        blank=True,
                        help_text="Who sees and works on this bot's leads (superusers see every "
                        "bot)",
                        related_name="bots",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["name", "id"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("from_environment", True)),
                        fields=("from_environment",),
                        name="bot_one_from_environment",
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="lead",
            name="bot_ref",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="leads.bot",
            ),
        ),
        migrations.AddField(
            model_name="syncrun",
            name="bot",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="sync_runs",
                to="leads.bot",
            ),
        ),
        migrations.RunPython(attach_leads_to_bots, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="lead", name="lead_unique_uuid_bot"),
        migrations.RemoveField(model_name="lead", name="bot_id"),
        migrations.RemoveField(model_name="lead", name="customer_id"),
        migrations.RenameField(model_name="lead", old_name="bot_ref", new_name="bot"),
        migrations.AlterField(
            model_name="lead",
            name="bot",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="leads",
                to="leads.bot",
            ),
        ),
        migrations.AddConstraint(
            model_name="lead",
            constraint=models.UniqueConstraint(fields=("uuid", "bot"), name="lead_unique_uuid_bot"),
        ),
        # SQLite rebuilds leads_lead to make `bot` NOT NULL, which drops its triggers.
        migrations.RunPython(create_search_triggers, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="syncrun",
            index=models.Index(
                fields=["bot", "state", "-started_at"], name="syncrun_bot_state_started"
            ),
        ),
        migrations.RunPython(drop_sync_lease, migrations.RunPython.noop),
        migrations.AddField(
            model_name="synclease",
            name="bot",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="sync_lease",
                to="leads.bot",
            ),
            preserve_default=False,
        ),
    ]
