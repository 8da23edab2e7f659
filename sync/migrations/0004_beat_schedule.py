"""Beat's periodic tasks exist as soon as the database is migrated: a deployment that runs only
compose's commands (migrate, gunicorn, worker, beat) still gets its nightly syncs and its reaper.
A snapshot of sync.schedule.PERIODIC_TASKS, as migrations must be; beat reconciles later changes."""

from django.db import migrations

TASKS = {
    "Nightly sync: start the institutions whose hour has come": ("sync.tasks.dispatch_nightly_syncs_task", 60),
    "Runs: end the runs no worker picked up or whose worker died": ("sync.tasks.reap_runs_task", 30),
}


def install(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    for name, (task, seconds) in TASKS.items():
        every, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
        PeriodicTask.objects.update_or_create(name=name, defaults={"task": task, "interval": every, "enabled": True})


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0003_catalog_trigram_search"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
