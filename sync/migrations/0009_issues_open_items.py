"""Issue 18: every issue belongs to an institution; open items are found by course and by reason,
resolved ones by age (retention)."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    dependencies = [("sync", "0008_issues_collapse_repeats")]

    operations = [
        migrations.AlterField(
            model_name="syncissue",
            name="institution",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="sync_issues", to="portal.institution"
            ),
        ),
        migrations.AddIndex(
            model_name="syncissue",
            index=models.Index(
                condition=Q(resolved_at__isnull=True, tracked=True),
                fields=["institution", "canvas_course_id"],
                name="issue_open_by_course",
            ),
        ),
        migrations.AddIndex(
            model_name="syncissue",
            index=models.Index(
                condition=Q(resolved_at__isnull=True, tracked=True),
                fields=["institution", "code"],
                name="issue_open_by_code",
            ),
        ),
        migrations.AddIndex(
            model_name="syncissue",
            index=models.Index(condition=Q(resolved_at__isnull=False), fields=["resolved_at"], name="issue_resolved"),
        ),
    ]
