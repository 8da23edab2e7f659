from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from portal.models import Department, Institution, InstitutionAdmin


def _snapshot():
    return (
        list(Institution.objects.values_list("slug", "name", "timezone")),
        list(Department.objects.order_by("name").values_list("name", flat=True)),
        list(InstitutionAdmin.objects.values_list("user__username", "institution__slug")),
    )


def test_seed_demo_twice_gives_the_same_data(db, settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    first = _snapshot()
    call_command("seed_demo")
    assert _snapshot() == first
    assert first[0] == [("demo", "Demo University", "America/New_York")]
    out = capsys.readouterr().out
    assert "admin@demo.test / demo" in out and "support@demo.test / demo" in out


def test_demo_logins_work(db, settings):
    settings.DEBUG = True
    call_command("seed_demo")
    request = RequestFactory().post("/login/")
    admin = authenticate(request, username="admin@demo.test", password="demo")
    support = authenticate(request, username="support@demo.test", password="demo")
    assert admin.institution_membership.institution.slug == "demo"
    assert support.is_staff and not hasattr(support, "institution_membership")


def test_seed_demo_refuses_to_run_in_production(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")
    assert not Institution.objects.exists()
