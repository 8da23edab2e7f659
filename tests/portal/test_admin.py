from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse


@pytest.fixture
def staff_client(client, support_user):
    client.force_login(support_user)
    return client


def test_every_model_of_ours_is_registered_in_admin():
    ours = [m for m in apps.get_models() if m._meta.app_label in {"portal", "lms_canvas", "sync"}]
    missing = [m.__name__ for m in ours if m not in admin.site._registry]
    assert missing == []


def test_every_admin_changelist_and_add_page_loads(staff_client, institution_a, admin_a):
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in {"portal", "lms_canvas", "sync"}:
            continue
        opts = model._meta
        r = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"), {"q": "x"})
        assert r.status_code == 200, opts.model_name
        if model_admin.has_add_permission(r.wsgi_request):
            assert staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 200


def test_institution_list_links_to_its_data(staff_client, institution_a):
    body = staff_client.get(reverse("admin:portal_institution_changelist")).content.decode()
    assert f"/support/portal/course/?institution__id__exact={institution_a.id}" in body


def test_institution_admins_cannot_open_django_admin(client, admin_a):
    client.force_login(admin_a)
    r = client.get(reverse("admin:index"))
    assert r.status_code == 302
