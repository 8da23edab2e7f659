"""The suite's own machinery: a transactional test's flush (tests/conftest.py `_flush_by_delete`, rows
deleted rather than every table truncated) still leaves every table empty for the next test."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from sync.models import SyncRun


@pytest.mark.django_db(transaction=True)
def test_a_flush_empties_every_table(institution_a, admin_a):
    SyncRun.objects.create(institution=institution_a)  # rows that point at rows: deleted in any order

    call_command("flush", verbosity=0, interactive=False, inhibit_post_migrate=True)

    with connection.cursor() as cursor:
        for table in connection.introspection.django_table_names(only_existing=True, include_views=False):
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            assert cursor.fetchone()[0] == 0, f"{table} kept rows after a flush"


def test_every_foreign_key_is_checked_at_commit_so_a_flush_may_delete_in_any_order(db):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's flush deletes table by table already")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint "
            "WHERE contype = 'f' AND NOT (condeferrable AND condeferred)"
        )
        assert cursor.fetchall() == []
