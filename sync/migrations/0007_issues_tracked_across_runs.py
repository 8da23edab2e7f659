"""Issue 18, schema: an issue's institution, and what makes it an open item across runs (0008 moves
the existing rows, 0009 makes the institution required and indexes the open items). Three migrations:
PostgreSQL refuses to alter a table whose rows the same transaction has just updated."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0004_service_heartbeat"),
        ("sync", "0006_syncrun_trigger_live_event"),
    ]

    operations = [
        migrations.AddField(
            model_name="syncissue",
            name="institution",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="sync_issues",
                to="portal.institution",
            ),
        ),
        migrations.AlterField(
            model_name="syncissue",
            name="run",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="issues",
                to="sync.syncrun",
            ),
        ),
        migrations.AlterField(
            model_name="syncissue",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, verbose_name="first seen"),
        ),
        migrations.AddField(
            model_name="syncissue",
            name="tracked",
            field=models.BooleanField(
                default=False, help_text="An open item across runs (what a sync left out), not a fact of one run."
            ),
        ),
        migrations.AddField(
            model_name="syncissue",
            name="scope_section_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="syncissue",
            name="resolved_run",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="resolved_issues",
                to="sync.syncrun",
            ),
        ),
        migrations.AddField(
            model_name="syncissue",
            name="resolved_at",
            field=models.DateTimeField(blank=True, help_text="When a sync no longer found it.", null=True),
        ),
    ]
