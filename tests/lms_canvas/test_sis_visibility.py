"""Generate Key checks once whether the authorizing user's Canvas role lets the portal see SIS ids and
logins (issue 16 item 4): through the permissions endpoint when the token may call it, else by the
first course's JSON (Canvas leaves `sis_course_id` out for such a role)."""

from __future__ import annotations

import pytest

from lms_canvas import connect, visibility
from lms_canvas.simulator.generator import DEMO_KEY_ID

pytestmark = pytest.mark.django_db


def sis_check(conn) -> dict:
    connect.verify(conn)
    conn.refresh_from_db()
    return conn.capabilities[visibility.SIS]


def test_a_role_that_may_read_sis_data_passes(connected):
    assert sis_check(connected)["ok"]


def test_a_role_without_sis_data_read_is_named_with_the_fix(connected, sim):
    sim.control("permissions", {"user_id": 1, "read_sis": False})

    check = sis_check(connected)

    assert not check["ok"]
    assert "SIS Data - read" in check["message"] and "Generate Key" in check["fix"]


def test_a_role_that_may_manage_sis_data_but_not_read_it_passes(connected, sim):
    # Canvas shows SIS ids with "SIS Data - read" or "SIS Data - manage" (CANVAS_API.md §5.1-5.5).
    sim.control(f"keys/{DEMO_KEY_ID}", {"require_scopes": False})  # so the permissions endpoint is asked
    sim.control("permissions", {"user_id": 1, "read_sis": False, "manage_sis": True})

    assert sis_check(connected)["ok"]


def test_an_unscoped_key_reads_the_permissions_and_names_hidden_logins(connected, sim):
    sim.control(f"keys/{DEMO_KEY_ID}", {"require_scopes": False})
    sim.control("permissions", {"user_id": 1, "view_user_logins": False})

    check = sis_check(connected)

    assert not check["ok"] and "logins" in check["message"] and "Users - view login IDs" in check["message"]
    assert sim.control("stats")["requests"]["GET /api/v1/accounts/:account_id/permissions"] == {"200": 1}


def test_generate_key_reports_hidden_sis_ids_among_its_findings(connected, sim):
    sim.control("permissions", {"key_id": DEMO_KEY_ID, "read_sis": False})

    findings = connect.verify(connected)

    assert any("SIS Data - read" in f.message for f in findings)


def test_hidden_logins_alone_are_not_called_hidden_sis_ids(connected, sim):
    sim.control(f"keys/{DEMO_KEY_ID}", {"require_scopes": False})
    sim.control("permissions", {"user_id": 1, "view_user_logins": False})

    check = sis_check(connected)

    assert not check["ok"] and "Users - view login IDs" in check["message"]
    assert "SIS" not in check["message"]  # the role may read SIS data: only the logins are hidden
    assert not check["sis_hidden"] and check["logins_hidden"]
