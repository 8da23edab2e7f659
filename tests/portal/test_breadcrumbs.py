from __future__ import annotations

import pytest
from django.template import Context, Template, TemplateSyntaxError

from portal.templatetags.breadcrumbs import PAGES, trail_to


def render(text: str, **ctx) -> str:
    return Template("{% load breadcrumbs %}" + text).render(Context(ctx))


def test_every_admin_page_starts_with_admin_and_global_settings():
    for page, place in PAGES.items():
        labels = [label for label, _ in trail_to(page)]
        assert labels[-1] == place.label
        if labels[0] == "Admin" and page != "admin":
            assert labels[1] == "Global Settings", page


def test_a_run_page_is_under_view_history(db):
    html = render('{% breadcrumbs "sync-history" "Sync #12" %}')
    assert '<a href="/admin-settings/">Global Settings</a>' in html
    assert '<a href="/admin-settings/lms/">LMS Settings</a>' in html
    assert '<a href="/admin-settings/lms/history/">View History</a>' in html
    assert '<span aria-current="page">Sync #12</span>' in html


def test_admin_is_a_crumb_but_no_link():
    html = render('{% breadcrumbs "global-settings" %}')
    assert "<span>Admin</span>" in html
    assert '<span aria-current="page">Global Settings</span>' in html


def test_pages_below_a_named_one_are_pairs_of_label_and_url():
    html = render('{% breadcrumbs "dashboard" "Law" "/departments/3/" "LAW-101" %}')
    assert '<a href="/dashboard/">Dashboard</a>' in html
    assert '<a href="/departments/3/">Law</a>' in html
    assert '<span aria-current="page">LAW-101</span>' in html


def test_a_url_without_its_label_is_refused():
    with pytest.raises(TemplateSyntaxError):
        render('{% breadcrumbs "dashboard" "Law" "/departments/3/" %}')


def test_the_edit_sync_list_crumb_opens_its_tab():
    assert ("Edit Sync List", "/admin-settings/lms/sync/?tab=list") in trail_to("sync-list")
