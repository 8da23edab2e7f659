"""The LMS Settings → Generate Key → callback flow against the simulator, over real HTTP."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from lms_canvas.http import RetryPolicy
from lms_canvas.models import CanvasConfig, CanvasConnection, ConnectionStatus
from lms_canvas.scopes import REQUIRED_SCOPES
from lms_canvas.simulator.generator import DEMO_KEY_ID, DEMO_SECRET
from lms_canvas.simulator.testing import browser_authorize

KEY = f"keys/{DEMO_KEY_ID}"


def save_settings(client, sim, **overrides):
    data = {
        "lms_type": "dev_key",
        "server_url": sim.url,
        "client_id": str(DEMO_KEY_ID),
        "client_secret": DEMO_SECRET,
        **overrides,
    }
    return client.post(reverse("lms-settings"), data, follow=True)


def generate_key_and_authorize(client, sim, *, cancel: bool = False):
    r = client.post(reverse("canvas-generate-key"))
    assert r.status_code == 302, r.content
    assert r["Location"].startswith(sim.url + "/login/oauth2/auth"), r["Location"]
    answer = browser_authorize(sim.url, r["Location"], cancel=cancel)
    return client.get(reverse("canvas-callback") + "?" + urlencode(answer), follow=True)


def page_text(r) -> str:
    return r.content.decode()


def conn_of(institution) -> CanvasConnection:
    return CanvasConnection.objects.get(institution=institution)


@pytest.fixture
def admin_client(client_a, sim):
    return client_a


def test_the_guide_end_to_end_reaches_verified(admin_client, sim, institution_a, admin_a):
    r = save_settings(admin_client, sim)
    assert "Canvas accepts this developer key" in page_text(r)
    assert conn_of(institution_a).status == ConnectionStatus.NOT_VERIFIED

    r = generate_key_and_authorize(admin_client, sim)
    conn = conn_of(institution_a)
    assert conn.status == ConnectionStatus.VERIFIED, conn.status_reason
    assert conn.verified_by == admin_a
    assert conn.canvas_user_name == "Canvas Admin"
    assert all(c["ok"] for c in conn.capabilities.values()), conn.capabilities
    assert {"accounts", "courses", "sections", "enrollments", "users", "roles", "passback", "includes"} <= set(
        conn.capabilities
    )
    body = page_text(r)
    assert "Verified" in body and "as Canvas user Canvas Admin" in body
    assert DEMO_SECRET not in body and conn.access_token not in body and conn.refresh_token not in body


def test_secret_is_write_only_and_kept_when_left_blank(admin_client, sim, institution_a):
    save_settings(admin_client, sim)
    r = admin_client.get(reverse("lms-settings"))
    assert DEMO_SECRET not in page_text(r)
    assert "A client secret is saved" in page_text(r)
    save_settings(admin_client, sim, client_secret="")
    assert conn_of(institution_a).client_secret == DEMO_SECRET


def test_secret_is_encrypted_at_rest(admin_client, sim, institution_a):
    from django.db import connection

    save_settings(admin_client, sim)
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_secret FROM lms_canvas_canvasconnection")
        (stored,) = cursor.fetchone()
    assert stored and DEMO_SECRET not in stored


def test_preflight_names_each_missing_scope(admin_client, sim, institution_a):
    missing = [REQUIRED_SCOPES[3], REQUIRED_SCOPES[7]]
    sim.control(KEY, {"scopes": [s for s in REQUIRED_SCOPES if s not in missing]})
    r = save_settings(admin_client, sim)
    body = page_text(r)
    assert "does not grant 2 required scopes" in body
    for scope in missing:
        assert scope in body
    assert "Enforce Scopes" in body
    conn = conn_of(institution_a)
    assert conn.status == ConnectionStatus.NOT_VERIFIED
    assert missing[0] in conn.status_reason


def test_preflight_explains_a_key_switched_off(admin_client, sim):
    sim.control(KEY, {"state": "off"})
    body = page_text(save_settings(admin_client, sim))
    assert "switched OFF" in body and "set the key&#x27;s State to ON" in body


def test_a_save_once_the_key_is_switched_on_no_longer_says_it_is_off(admin_client, sim, institution_a):
    sim.control(KEY, {"state": "off"})
    assert "switched OFF" in page_text(save_settings(admin_client, sim))
    sim.control(KEY, {"state": "on"})

    r = save_settings(admin_client, sim, client_secret="")

    assert "Saved. Canvas accepts this developer key" in page_text(r)
    body = page_text(admin_client.get(reverse("lms-settings")))  # and after reloading
    assert "switched OFF" not in body
    assert "Canvas accepts the saved developer key. Next step: choose <strong>Generate Key</strong>" in body
    assert conn_of(institution_a).status_reason == ""


def test_preflight_explains_a_wrong_secret(admin_client, sim):
    body = page_text(save_settings(admin_client, sim, client_secret="not-the-secret"))
    assert "Canvas refused the Client Secret" in body


def test_preflight_explains_an_unknown_client_id(admin_client, sim):
    body = page_text(save_settings(admin_client, sim, client_id="170000000000999"))
    assert "no active developer key with Client ID 170000000000999" in body


def test_preflight_explains_an_unregistered_redirect_uri(admin_client, sim, settings):
    settings.SITE_URL = "http://127.0.0.1:8999"
    body = page_text(save_settings(admin_client, sim))
    assert "does not list the portal&#x27;s redirect URI" in body
    assert "http://127.0.0.1:8999/lms/canvas/callback/" in body


def test_one_save_lists_a_missing_scope_a_key_switched_off_and_a_wrong_secret(admin_client, sim, institution_a):
    sim.control(KEY, {"scopes": [s for s in REQUIRED_SCOPES if s != REQUIRED_SCOPES[2]], "state": "off"})

    body = page_text(save_settings(admin_client, sim, client_secret="not-the-secret"))

    assert "Canvas showed 3 problems with the developer key, each listed under Connection below" in body
    problems = body[body.index('data-testid="key-problems"') :].split("</ol>")[0].split("<li>")[1:]
    assert len(problems) == 3
    assert problems[0].startswith("The developer key does not grant 1 required scope: " + REQUIRED_SCOPES[2])
    assert problems[1].startswith("The developer key is switched OFF")
    assert problems[2].startswith("Canvas refused the Client Secret")
    assert all("What to do:" in p for p in problems)
    reason = conn_of(institution_a).status_reason.splitlines()
    assert reason[0] == "Canvas showed 3 problems with the developer key:" and len(reason) == 4


def test_a_missing_scope_alone_is_the_one_problem_listed(admin_client, sim):
    sim.control(KEY, {"scopes": [s for s in REQUIRED_SCOPES if s != REQUIRED_SCOPES[2]]})
    body = page_text(save_settings(admin_client, sim))
    assert "does not grant 1 required scope" in body
    assert "Problem 1 of" not in body and "switched OFF" not in body and "Client Secret for" not in body


def test_a_key_granting_none_of_the_scopes_says_its_state_is_checked_after(admin_client, sim):
    sim.control(KEY, {"scopes": [], "state": "off"})
    body = page_text(save_settings(admin_client, sim, client_secret="not-the-secret"))
    assert f"does not grant {len(REQUIRED_SCOPES)} required scopes" in body
    assert "could not check the key&#x27;s State yet" in body and "Save here again to check" in body
    assert "Canvas refused the Client Secret" in body  # the token endpoint checks it whatever the scopes


def test_a_redirect_uri_not_on_the_key_still_has_its_secret_checked(admin_client, sim, settings):
    settings.SITE_URL = "http://127.0.0.1:8999"
    body = page_text(save_settings(admin_client, sim, client_secret="not-the-secret"))
    assert "Canvas showed 2 problems with the developer key" in body
    assert "<li>The developer key does not list the portal&#x27;s redirect URI" in body
    assert "checks the key&#x27;s scopes and State only once the redirect URI matches" in body
    assert "<li>Canvas refused the Client Secret" in body


def test_an_unknown_client_id_is_the_only_problem_canvas_can_tell(admin_client, sim):
    sim.control(KEY, {"state": "off"})
    body = page_text(save_settings(admin_client, sim, client_id="170000000000999", client_secret="not-the-secret"))
    assert "no active developer key with Client ID 170000000000999" in body
    assert "checks nothing else about a key" in body
    assert "Problem 1 of" not in body and "switched OFF" not in body


def test_generate_key_lists_every_problem_too(admin_client, sim, institution_a):
    save_settings(admin_client, sim)
    sim.control(KEY, {"scopes": REQUIRED_SCOPES[1:], "state": "off"})
    body = page_text(admin_client.post(reverse("canvas-generate-key"), follow=True))
    assert "Canvas showed 2 problems with the developer key, each listed under Connection below" in body
    assert f"<li>The developer key does not grant 1 required scope: {REQUIRED_SCOPES[0]}" in body
    assert "<li>The developer key is switched OFF" in body
    assert conn_of(institution_a).status_reason.startswith("Canvas showed 2 problems")


def test_generate_key_on_a_verified_connection_numbers_the_problems_and_keeps_it(admin_client, sim, institution_a):
    save_settings(admin_client, sim)
    generate_key_and_authorize(admin_client, sim)
    sim.control(KEY, {"scopes": REQUIRED_SCOPES[1:], "state": "off"})
    body = page_text(admin_client.post(reverse("canvas-generate-key"), follow=True))
    assert "Problem 1 of 2: The developer key does not grant 1 required scope" in body
    assert "Problem 2 of 2: The developer key is switched OFF" in body
    assert "Your existing connection is unchanged" in body
    conn = conn_of(institution_a)
    assert conn.is_verified and conn.has_token


def test_generate_key_with_a_missing_scope_stays_in_the_portal_and_names_it(admin_client, sim, institution_a):
    save_settings(admin_client, sim)
    sim.control(KEY, {"scopes": [s for s in REQUIRED_SCOPES if s != REQUIRED_SCOPES[0]]})
    r = admin_client.post(reverse("canvas-generate-key"), follow=True)
    assert REQUIRED_SCOPES[0] in page_text(r)
    assert conn_of(institution_a).status != ConnectionStatus.VERIFIED


def test_cancel_at_canvas_is_explained_and_not_verified(admin_client, sim, institution_a):
    save_settings(admin_client, sim)
    r = generate_key_and_authorize(admin_client, sim, cancel=True)
    assert "authorization was cancelled" in page_text(r)
    conn = conn_of(institution_a)
    assert conn.status == ConnectionStatus.NOT_VERIFIED and not conn.access_token


def test_cancel_at_canvas_on_a_verified_connection_keeps_it_working(admin_client, sim, institution_a):
    save_settings(admin_client, sim)
    generate_key_and_authorize(admin_client, sim)
    before = conn_of(institution_a)
    assert before.status == ConnectionStatus.VERIFIED

    r = generate_key_and_authorize(admin_client, sim, cancel=True)

    body = page_text(r)
    assert "authorization was cancelled" in body
    assert "Your existing connection is unchanged: it is still Verified" in body
    after = conn_of(institution_a)
    assert after.status == ConnectionStatus.VERIFIED and after.status_reason == ""
    assert (after.access_token, after.refresh_token) == (before.access_token, before.refresh_token)


def test_a_failed_code_exchange_on_a_verified_connection_keeps_it(admin_client, sim, institution_a):
    save_settings(admin_client, sim)
    generate_key_and_authorize(admin_client, sim)
    token = conn_of(institution_a).access_token
    admin_client.post(reverse("canvas-generate-key"))
    state = admin_client.session["canvas_oauth"]["state"]
    r = admin_client.get(reverse("canvas-callback"), {"state": state, "code": "not-a-code"}, follow=True)
    assert "Your existing connection is unchanged" in page_text(r)
    conn = conn_of(institution_a)
    assert conn.status == ConnectionStatus.VERIFIED and conn.access_token == token


def test_a_tampered_state_is_refused(admin_client, sim, institution_a):
    save_settings(admin_client, sim)
    r = admin_client.post(reverse("canvas-generate-key"))
    answer = browser_authorize(sim.url, r["Location"])
    answer["state"] = "forged"
    r = admin_client.get(reverse("canvas-callback") + "?" + urlencode(answer), follow=True)
    assert "does not belong to a Generate Key started here" in page_text(r)
    assert conn_of(institution_a).status != ConnectionStatus.VERIFIED


def test_a_state_is_single_use(admin_client, sim, institution_a):
    save_settings(admin_client, sim)
    r = admin_client.post(reverse("canvas-generate-key"))
    answer = browser_authorize(sim.url, r["Location"])
    admin_client.get(reverse("canvas-callback") + "?" + urlencode(answer))
    r = admin_client.get(reverse("canvas-callback") + "?" + urlencode(answer), follow=True)
    assert "already used" in page_text(r)


def test_an_expired_state_is_refused(admin_client, sim, institution_a, time_machine):
    save_settings(admin_client, sim)
    r = admin_client.post(reverse("canvas-generate-key"))
    answer = browser_authorize(sim.url, r["Location"])
    time_machine.move_to(time.time() + 700, tick=True)
    r = admin_client.get(reverse("canvas-callback") + "?" + urlencode(answer), follow=True)
    assert "took too long and expired" in page_text(r)


def test_includes_switched_off_are_detected_and_explained(admin_client, sim, institution_a):
    sim.control(KEY, {"allow_includes": False})
    save_settings(admin_client, sim)
    r = generate_key_and_authorize(admin_client, sim)
    conn = conn_of(institution_a)
    assert conn.status == ConnectionStatus.VERIFIED
    assert conn.capabilities["includes"]["ok"] is False
    assert "tick Allow Include Parameters" in page_text(r)


def test_configure_is_locked_with_the_reason_until_verified(admin_client, sim, institution_a):
    save_settings(admin_client, sim)
    body = page_text(admin_client.get(reverse("canvas-configure")))
    assert "Configure is locked until the Canvas connection is Verified" in body
    assert reverse("lms-settings") in body
    assert 'name="course_id_type"' not in body
    assert admin_client.post(reverse("canvas-configure"), {"course_id_type": "canvas"}).status_code == 200
    assert not CanvasConfig.objects.filter(institution=institution_a, saved_at__isnull=False).exists()


def test_configure_saves_id_types_and_roles_after_verifying(admin_client, sim, institution_a):
    save_settings(admin_client, sim)
    generate_key_and_authorize(admin_client, sim)
    config = CanvasConfig.objects.get(institution=institution_a)
    roles = {r["label"]: r["id"] for r in config.available_roles}
    assert "Auditor" in roles  # the simulator's custom role, based on Student
    body = page_text(admin_client.get(reverse("canvas-configure")))
    assert "Auditor (based on Student)" in body
    r = admin_client.post(
        reverse("canvas-configure"),
        {
            "course_id_type": "canvas",
            "section_id_type": "integration",
            "student_id_type": "email",
            "course_admin_role_ids": [roles["Teacher"]],
            "student_role_ids": [roles["Student"], roles["Auditor"]],
        },
        follow=True,
    )
    assert "Configuration saved" in page_text(r)
    config.refresh_from_db()
    assert (config.course_id_type, config.section_id_type, config.student_id_type) == ("canvas", "integration", "email")
    assert set(config.student_role_ids) == {roles["Student"], roles["Auditor"]}


def test_a_role_cannot_be_both_admin_and_student(admin_client, connected):
    config = CanvasConfig.objects.get(institution=connected.institution)
    teacher = config.course_admin_role_ids[0]
    r = admin_client.post(
        reverse("canvas-configure"),
        {
            "course_id_type": "sis",
            "section_id_type": "sis",
            "student_id_type": "sis",
            "course_admin_role_ids": [teacher],
            "student_role_ids": [teacher],
        },
    )
    assert "cannot be both a Course Admin role and a Student role" in page_text(r)


def test_no_role_ticked_says_which_roles_to_tick(admin_client, connected):
    r = admin_client.post(
        reverse("canvas-configure"),
        {"course_id_type": "sis", "section_id_type": "sis", "student_id_type": "sis"},
    )
    body = page_text(r)
    assert "This field is required" not in body
    assert "Tick at least one Student role: the Canvas roles (such as Student) whose people are synced" in body
    assert "Tick at least one Course Admin role" in body


def test_disconnect_revokes_and_keeps_the_mapping(admin_client, connected, sim):
    config = CanvasConfig.objects.get(institution=connected.institution)
    config.course_id_type = "canvas"
    config.save()
    token = connected.access_token
    r = admin_client.post(reverse("canvas-disconnect"), {"confirmed": "1"}, follow=True)
    assert "Canvas revoked the portal&#x27;s token" in page_text(r)
    conn = conn_of(connected.institution)
    assert conn.status == ConnectionStatus.NOT_VERIFIED and not conn.access_token
    assert sim.api(token).get(sim.url + "/api/v1/accounts/self").status_code == 401
    assert CanvasConfig.objects.get(institution=connected.institution).course_id_type == "canvas"


def test_a_pasted_access_token_is_verified_by_a_live_call(admin_client, sim, institution_a):
    token = sim.issue_token()["access_token"]
    r = admin_client.post(
        reverse("lms-settings"),
        {"lms_type": "access_token", "server_url": sim.url, "access_token": token},
        follow=True,
    )
    assert "Verified" in page_text(r)
    conn = conn_of(institution_a)
    assert conn.status == ConnectionStatus.VERIFIED and conn.access_token == token
    assert token not in page_text(r)


def test_a_pasted_token_that_canvas_refuses_is_not_verified(admin_client, sim, institution_a):
    r = admin_client.post(
        reverse("lms-settings"),
        {"lms_type": "access_token", "server_url": sim.url, "access_token": "x" * 64},
        follow=True,
    )
    assert conn_of(institution_a).status != ConnectionStatus.VERIFIED
    assert "What to do" in page_text(r)


def test_admin_of_b_never_sees_or_changes_a_connection(client_b, connected):
    body = page_text(client_b.get(reverse("lms-settings")))
    assert connected.server_url not in body and "Not configured" in body
    client_b.post(reverse("canvas-disconnect"), {"confirmed": "1"})
    assert conn_of(connected.institution).status == ConnectionStatus.VERIFIED


def test_no_secret_reaches_the_admin_pages(client, support_user, connected):
    client.force_login(support_user)
    pages = [
        reverse("admin:lms_canvas_canvasconnection_changelist"),
        reverse("admin:lms_canvas_canvasconnection_change", args=[connected.id]),
    ]
    for url in pages:
        body = client.get(url).content.decode()
        assert connected.client_secret not in body
        assert connected.access_token not in body and connected.refresh_token not in body
    assert "••••" in body


def test_canvas_failing_the_roles_call_during_the_callback_leaves_not_verified_with_the_cause(
    admin_client, sim, institution_a, monkeypatch
):
    monkeypatch.setattr(RetryPolicy, "delay", lambda self, retry: 0.0)
    save_settings(admin_client, sim)
    sim.control("faults", {"error_rate": 1.0, "error_status": 500, "paths": r"/roles$"})
    r = generate_key_and_authorize(admin_client, sim)
    assert r.status_code == 200
    conn = conn_of(institution_a)
    assert conn.status == ConnectionStatus.NOT_VERIFIED and conn.verified_at is None
    assert "roles" in conn.status_reason
    body = page_text(r)
    assert "Canvas failed on GET /api/v1/accounts/1/roles with HTTP 500" in body
    assert "What to do: Check that the Canvas server URL is right and Canvas is up" in body
    assert "has not yet proved it can read Canvas" in body


def test_a_failed_roles_call_can_be_retried_with_reverify(admin_client, sim, institution_a, monkeypatch):
    monkeypatch.setattr(RetryPolicy, "delay", lambda self, retry: 0.0)
    save_settings(admin_client, sim)
    sim.control("faults", {"error_rate": 1.0, "error_status": 500, "paths": r"/roles$"})
    generate_key_and_authorize(admin_client, sim)
    sim.control("faults", {})
    r = admin_client.post(reverse("canvas-reverify"), follow=True)
    assert "Verified: the portal can read Canvas" in page_text(r)
    assert CanvasConfig.objects.get(institution=institution_a).available_roles
