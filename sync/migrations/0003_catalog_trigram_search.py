"""Select Courses searches by name (`icontains`) and by Course ID prefix (`istartswith`) at 100,000
courses: on PostgreSQL, trigram GIN indexes on UPPER(column), the expression Django's case-insensitive
lookups compare, so those searches read the index instead of every row. Nothing on SQLite (the demo),
where the same searches stay correct with a scan."""

from __future__ import annotations

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

TRIGRAM_INDEXES = {
    "catalog_course_name_trgm": "name",
    "catalog_course_sis_trgm": "sis_course_id",
    "catalog_course_integ_trgm": "integration_id",
}


def add_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    qn = schema_editor.quote_name
    for index, column in TRIGRAM_INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {qn(index)} ON {qn('sync_catalogcourse')} USING gin (UPPER({qn(column)}) gin_trgm_ops)"
        )


def remove_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(index)}")


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0002_synccourseresult"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(add_trigram_indexes, remove_trigram_indexes),
    ]
