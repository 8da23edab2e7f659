# Grade passback: the exam's LMS assignment and a stable integration id; what was last posted per score.

from django.db import migrations, models

import portal.models


def fill_integration_ids(apps, schema_editor):
    Exam = apps.get_model("portal", "Exam")
    for exam in Exam.objects.all():
        exam.integration_id = portal.models.new_exam_integration_id()
        exam.save(update_fields=["integration_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0002_institution_sync_hold_min_people_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="exam",
            name="integration_id",
            field=models.CharField(editable=False, max_length=100, null=True, verbose_name="Reference ID in the LMS"),
        ),
        migrations.RunPython(fill_integration_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="exam",
            name="integration_id",
            field=models.CharField(
                default=portal.models.new_exam_integration_id,
                editable=False,
                help_text="Sent as the LMS assignment's integration id, so a retry finds the assignment it made.",
                max_length=100,
                unique=True,
                verbose_name="Reference ID in the LMS",
            ),
        ),
        migrations.AddField(
            model_name="exam",
            name="lms_assignment_id",
            field=models.BigIntegerField(blank=True, null=True, verbose_name="LMS assignment id"),
        ),
        migrations.AddField(
            model_name="exam",
            name="lms_assignment_url",
            field=models.URLField(blank=True, max_length=500, verbose_name="LMS assignment link"),
        ),
        migrations.AddField(
            model_name="examscore",
            name="posted_score",
            field=models.DecimalField(
                blank=True, decimal_places=2, help_text="The score last posted to the LMS.", max_digits=7, null=True
            ),
        ),
        migrations.AddField(
            model_name="examscore",
            name="posted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="examscore",
            name="lms_grade_seen",
            field=models.CharField(
                blank=True,
                help_text="The grade the LMS showed right after our last post; a different grade later means "
                "someone changed it there.",
                max_length=100,
                verbose_name="LMS grade after our post",
            ),
        ),
        migrations.AddField(
            model_name="examscore",
            name="post_status",
            field=models.CharField(
                choices=[
                    ("not_posted", "Not posted yet"),
                    ("posted", "Posted"),
                    ("conflict", "Changed in the LMS: left alone"),
                    ("failed", "Not posted: failed"),
                ],
                default="not_posted",
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="examscore",
            name="post_message",
            field=models.TextField(blank=True),
        ),
    ]
