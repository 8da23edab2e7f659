"""Support reads every institution's trail in Django admin, and can delete neither an audit entry nor
a run (with its courses and issues): no delete page, no bulk delete action."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sync.audit import tracking
from sync.audit.models import Area, AuditEntry
from sync.models import SyncCourseResult, SyncIssue, SyncRun
from sync.runs import issues
from sync.runs.lifecycle import create_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def support(client, support_user):
    client.force_login(support_user)
    return client


@pytest.fixture
def entries(institution_a, institution_b):
    a = tracking.record(institution_a, area=Area.SCHEDULE, changes={"Nightly sync hour": ["2", "3"]})
    b = tracking.record(institution_b, area=Area.SCHEDULE, changes={"Nightly sync hour": ["2", "5"]})
    return a, b


def test_support_sees_every_institutions_trail_and_filters_it(support, entries):
    url = reverse("admin:audit_auditentry_changelist")
    body = support.get(url).content.decode()
    assert "Alpha University" in body and "Beta College" in body

    filtered = support.get(url, {"institution__id__exact": entries[1].institution_id}).content.decode()
    assert "Beta College" in filtered and "Alpha University</td>" not in filtered
    page = support.get(reverse("admin:audit_auditentry_change", args=[entries[0].id])).content.decode()
    assert "Nightly sync hour" in page and "Schedule and notifications" in page


def assert_undeletable(client, model, obj) -> None:
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    assert 'value="delete_selected"' not in client.get(changelist).content.decode()
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.id])).status_code == 403
    client.post(changelist, {"action": "delete_selected", "_selected_action": [obj.id], "post": "yes"})
    assert model.objects.filter(id=obj.id).exists()


def test_support_cannot_delete_an_audit_entry(support, entries):
    assert_undeletable(support, AuditEntry, entries[0])


def test_support_cannot_delete_a_run_its_courses_or_issues(support, institution_a):
    run = create_run(institution_a, "sync")
    issue = issues.record(run.id, "sync_list_empty")
    result = SyncCourseResult.objects.create(run=run, canvas_course_id=501, label="Contracts I")

    for model, obj in ((SyncRun, run), (SyncIssue, issue), (SyncCourseResult, result)):
        assert_undeletable(support, model, obj)
