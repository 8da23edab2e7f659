"""Issue 18, retention: the monthly totals of removed runs, and beat's retention task."""

import django.db.models.deletion
from django.db import migrations, models

# Beat's retention task exists as soon as the database is migrated, as 0004 does for the others
# (a snapshot of sync.schedule.PERIODIC_TASKS' entry; beat reconciles later changes).
RETENTION = ("History: remove runs and resolved problems past their retention", "sync.tasks.remove_old_history_task")


def install_retention(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    every, _ = IntervalSchedule.objects.get_or_create(every=3600, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=RETENTION[0], defaults={"task": RETENTION[1], "interval": every, "enabled": True}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0004_service_heartbeat"),
        ("sync", "0009_issues_open_items"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name="SyncMonthTotal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField(help_text="The first day of the month (UTC).")),
                ("runs", models.PositiveIntegerField(default=0)),
                ("minutes", models.FloatField(default=0)),
                ("created", models.PositiveIntegerField(default=0)),
                ("deactivated", models.PositiveIntegerField(default=0)),
                ("issues", models.PositiveIntegerField(default=0)),
                (
                    "institution",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sync_month_totals",
                        to="portal.institution",
                    ),
                ),
            ],
            options={
                "ordering": ["institution", "-month"],
                "constraints": [models.UniqueConstraint(fields=("institution", "month"), name="one_total_per_month")],
            },
        ),
        migrations.RunPython(install_retention, migrations.RunPython.noop),
    ]
