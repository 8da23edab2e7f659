from __future__ import annotations

import requests
from urllib3.util import SKIP_HEADER

from lms_canvas.simulator.generator import DEMO_KEY_ID
from lms_canvas.simulator.scopes import ALL_SCOPES

NOT_FOUND = {"errors": [{"message": "The specified resource does not exist."}]}


def links(response: requests.Response) -> dict[str, str]:
    return {rel: link["url"] for rel, link in response.links.items()}


def get(sim, token, path, **params):
    return sim.api(token).get(f"{sim.url}/api/v1{path}", params=params)


def test_account_courses_include_sub_accounts_and_skip_deleted(sim, sim_token):
    body = get(sim, sim_token, "/accounts/1/courses").json()
    assert [c["id"] for c in body] == [501, 502, 503, 505]
    sub = get(sim, sim_token, "/accounts/3/courses").json()
    assert [c["id"] for c in sub] == [502, 503, 505]


def test_account_courses_filters(sim, sim_token):
    ids = lambda **p: [c["id"] for c in get(sim, sim_token, "/accounts/1/courses", **p).json()]  # noqa: E731
    assert ids(published="true") == [501, 502]
    assert ids(published="false") == [503, 505]
    assert ids(**{"state[]": ["all"]}) == [501, 502, 503, 504, 505]
    assert ids(**{"state[]": ["deleted"]}) == [504]
    assert ids(search_term="contr") == [501]
    assert ids(enrollment_term_id="sis_term_id:2026FA") == [501, 502, 503]
    short = get(sim, sim_token, "/accounts/1/courses", search_term="ab")
    assert short.status_code == 400
    assert short.json()["errors"][0]["message"] == "3 or more characters is required"


def test_unpublished_course_shows_unpublished_state_and_includes(sim, sim_token):
    body = get(sim, sim_token, "/accounts/1/courses", **{"include[]": ["term", "total_students"]}).json()
    by_id = {c["id"]: c for c in body}
    assert by_id[503]["workflow_state"] == "unpublished"
    assert by_id[501]["term"]["name"] == "Fall 2026"
    # active and invited students count; inactive, completed and the test student do not
    assert by_id[501]["total_students"] == 4
    assert by_id[502]["sis_course_id"] is None


def test_link_pagination_matches_canvas(sim, sim_token):
    response = get(sim, sim_token, "/accounts/1/courses", per_page=2, page=2)
    header = response.headers["Link"]
    assert ", " not in header
    rels = [part.split('rel="')[1].rstrip('"') for part in header.split(",")]
    assert rels == ["current", "prev", "first"]
    assert "access_token" not in header
    first = get(sim, sim_token, "/accounts/1/courses", per_page=2)
    assert list(links(first)) == ["current", "next", "first"]
    assert links(first)["next"].startswith(f"{sim.url}/api/v1/accounts/1/courses?")


def test_per_page_is_clamped(sim, sim_token):
    assert len(get(sim, sim_token, "/accounts/1/courses", per_page=0).json()) == 1
    assert len(get(sim, sim_token, "/accounts/1/courses", per_page="abc").json()) == 1
    assert "per_page=100" in get(sim, sim_token, "/accounts/1/courses", per_page=500).headers["Link"]


def test_access_token_param_works_and_is_not_carried_into_links(sim, sim_token):
    response = requests.get(
        f"{sim.url}/api/v1/accounts/1/courses",
        params={"access_token": sim_token, "per_page": 1},
        headers={"User-Agent": "t"},
    )
    assert response.status_code == 200
    assert "access_token" not in response.headers["Link"]


def test_sections_list_has_last_link(sim, sim_token):
    response = get(sim, sim_token, "/courses/501/sections", per_page=1)
    assert list(links(response)) == ["current", "next", "first", "last"]


def test_missing_scope_is_401_without_www_authenticate(sim, sim_token):
    response = get(sim, sim_token, "/courses/501")
    assert response.status_code == 401
    assert response.json() == {"errors": [{"message": "Insufficient scopes on access token."}]}
    assert "WWW-Authenticate" not in response.headers


def test_head_is_checked_as_get(sim, sim_token):
    assert sim.api(sim_token).head(f"{sim.url}/api/v1/accounts").status_code == 200


def test_invalid_token_is_401_with_www_authenticate(sim):
    response = get(sim, "nonsense", "/accounts")
    assert response.status_code == 401
    assert response.json() == {"errors": [{"message": "Invalid access token."}]}
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="canvas-lms"'


def test_no_token_is_unauthenticated(sim):
    response = requests.get(f"{sim.url}/api/v1/accounts", headers={"User-Agent": "t"})
    assert response.status_code == 401
    assert response.json() == {"status": "unauthenticated", "errors": [{"message": "user authorization required"}]}


def test_user_agent_is_required(sim, sim_token):
    response = requests.get(
        f"{sim.url}/api/v1/accounts", headers={"Authorization": f"Bearer {sim_token}", "User-Agent": SKIP_HEADER}
    )
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"


def test_unknown_ids_and_sis_ids_are_404(sim, sim_token):
    for path in ("/accounts/99", "/sections/99", "/sections/sis_section_id:nope", "/courses/504/sections"):
        response = get(sim, sim_token, path)
        assert response.status_code == 404, path
        assert response.json() == NOT_FOUND


def test_sis_ids_in_paths(sim, sim_token):
    assert get(sim, sim_token, "/accounts/sis_account_id:LAW").json()["name"] == "School of Law"
    assert get(sim, sim_token, "/accounts/1/courses/sis_course_id:LAW-101-F26").json()["id"] == 501
    assert get(sim, sim_token, "/sections/sis_section_id:LAW-101-F26-A").json()["id"] == 801
    assert get(sim, sim_token, "/courses/sis_course_id:LAW-101-F26/sections").status_code == 200


def test_account_course_must_be_in_the_account(sim, sim_token):
    assert get(sim, sim_token, "/accounts/2/courses/502").status_code == 404
    assert get(sim, sim_token, "/accounts/1/courses/504").status_code == 404
    assert get(sim, sim_token, "/accounts/1/courses/504", **{"include[]": "all_courses"}).status_code == 200


def test_accounts_help_links_and_course_accounts(sim, sim_token):
    assert [a["id"] for a in get(sim, sim_token, "/accounts").json()] == [1]
    root = get(sim, sim_token, "/accounts/1").json()
    assert root["root_account_id"] is None and "sis_account_id" not in root
    assert get(sim, sim_token, "/accounts/1/help_links").json()["default_help_links"]
    assert get(sim, sim_token, "/accounts/2/help_links").json() == {}
    assert get(sim, sim_token, "/course_accounts").json() == []


def test_course_users_default_to_active_and_invited_and_hide_test_student(sim, sim_token):
    users = get(sim, sim_token, "/courses/501/users").json()
    assert [u["id"] for u in users] == [104, 201, 101, 103, 102, 202]
    assert all("email" in u for u in users if u["id"] != 104)
    with_test = get(sim, sim_token, "/courses/501/users", **{"include[]": "test_student"}).json()
    assert 900 in [u["id"] for u in with_test]


def test_invited_only_user_has_no_login_sis_or_email(sim, sim_token):
    users = {u["id"]: u for u in get(sim, sim_token, "/courses/501/users").json()}
    assert {"login_id", "sis_user_id", "email"}.isdisjoint(users[104])
    assert users[101]["sis_user_id"] == "S0001" and users[101]["email"] == "ada@demo.edu"


def test_course_users_filters_and_enrollments(sim, sim_token):
    students = get(sim, sim_token, "/courses/501/users", **{"enrollment_type[]": "student"}).json()
    assert {u["id"] for u in students} == {101, 102, 103, 104}
    auditors = get(sim, sim_token, "/courses/501/users", enrollment_role_id="20").json()
    assert [u["id"] for u in auditors] == [103]
    inactive = get(sim, sim_token, "/courses/501/users", **{"enrollment_state[]": "inactive"}).json()
    assert [u["id"] for u in inactive] == [105]
    with_enrollments = get(sim, sim_token, "/courses/501/users", **{"include[]": "enrollments"}).json()
    ada = next(u for u in with_enrollments if u["id"] == 101)
    assert [e["id"] for e in ada["enrollments"]] == [9001]


def test_includes_are_cut_to_uuid_when_key_disallows_them(sim):
    sim.control(f"keys/{DEMO_KEY_ID}", {"allow_includes": False})
    token = sim.issue_token()["access_token"]
    course = get(sim, token, "/accounts/1/courses", **{"include[]": ["term", "uuid"]}).json()[0]
    assert "term" not in course
    users = get(sim, token, "/courses/501/users", **{"include[]": "enrollments"}).json()
    assert "enrollments" not in users[1] and "email" in users[1]
    enrollment = get(sim, token, "/courses/501/enrollments").json()[0]
    assert "user" in enrollment


def test_enrollments_use_bookmarks_and_embed_user(sim, sim_token):
    first = get(sim, sim_token, "/courses/501/enrollments", per_page=3)
    assert list(links(first)) == ["current", "next", "first"]
    assert "page=bookmark" in links(first)["next"]
    seen = [e["id"] for e in first.json()]
    response = first
    while "next" in response.links:
        response = sim.api(sim_token).get(response.links["next"]["url"])
        seen += [e["id"] for e in response.json()]
    # admins see inactive by default; completed is not active_or_pending
    assert sorted(seen) == [9001, 9002, 9003, 9004, 9005, 9007, 9008, 9009]
    assert first.json()[0]["user"]["name"]


def test_enrollment_filters(sim, sim_token):
    ids = lambda **p: sorted(e["id"] for e in get(sim, sim_token, "/courses/501/enrollments", **p).json())  # noqa: E731
    assert ids(**{"type[]": "TeacherEnrollment"}) == [9007]
    assert ids(**{"role[]": "Auditor"}) == [9003]
    assert ids(**{"state[]": ["completed"]}) == [9006]
    assert get(sim, sim_token, "/courses/501/enrollments", **{"role[]": "Nope"}).status_code == 400


def test_enrollment_shape(sim, sim_token):
    enrollment = next(e for e in get(sim, sim_token, "/courses/501/enrollments").json() if e["id"] == 9001)
    assert enrollment["sis_course_id"] == "LAW-101-F26"
    assert enrollment["sis_section_id"] == "LAW-101-F26-A"
    assert enrollment["sis_user_id"] == "S0001"
    assert enrollment["role"] == "StudentEnrollment" and enrollment["role_id"] == 3
    assert enrollment["html_url"] == f"{sim.url}/courses/501/users/101"
    assert "grades" in enrollment


def test_sections_with_students_and_cross_listing(sim, sim_token):
    sections = get(sim, sim_token, "/courses/502/sections", **{"include[]": ["students", "enrollments"]}).json()
    cross = next(s for s in sections if s["id"] == 804)
    assert cross["nonxlist_course_id"] == 503
    assert [u["id"] for u in cross["students"]] == [106]
    assert cross["students"][0]["enrollments"][0]["id"] == 9013
    one = get(sim, sim_token, "/courses/502/sections/804").json()
    assert one["id"] == 804 and "students" not in one
    assert get(sim, sim_token, "/courses/501/sections/804").status_code == 404


def test_roles_include_built_ins_and_custom(sim, sim_token):
    roles = get(sim, sim_token, "/accounts/1/roles", per_page=100).json()
    by_name = {r["role"]: r for r in roles}
    assert by_name["StudentEnrollment"]["id"] == 3 and by_name["StudentEnrollment"]["workflow_state"] == "built_in"
    assert by_name["TeacherEnrollment"]["id"] == 4
    assert by_name["Auditor"]["base_role_type"] == "StudentEnrollment"
    assert by_name["Auditor"]["account"]["id"] == 1


def test_built_in_roles_carry_canvas_labels_and_custom_roles_their_name(sim, sim_token):
    # CANVAS_API.md §5.6: a built-in role's `role` is its name, its `label` Canvas's display label.
    roles = get(sim, sim_token, "/accounts/1/roles", per_page=100).json()
    labels = {r["role"]: r["label"] for r in roles}
    assert labels == {
        "AccountAdmin": "Account Admin",
        "StudentEnrollment": "Student",
        "TeacherEnrollment": "Teacher",
        "TaEnrollment": "TA",
        "DesignerEnrollment": "Designer",
        "ObserverEnrollment": "Observer",
        "Auditor": "Auditor",
        "Course Director": "Course Director",
    }


def test_an_enrollment_names_its_role_not_its_label(sim, sim_token):
    body = get(sim, sim_token, "/courses/501/enrollments", per_page=100).json()
    roles = {e["id"]: e["role"] for e in body}
    assert roles[9007] == "TeacherEnrollment"
    assert roles[9003] == "Auditor"
    assert get(sim, sim_token, "/courses/501/enrollments", **{"role[]": "TeacherEnrollment"}).json()[0]["id"] == 9007


def test_create_assignment_with_form_and_json(sim, sim_token):
    http = sim.api(sim_token)
    form = http.post(
        f"{sim.url}/api/v1/courses/501/assignments",
        data={
            "assignment[name]": "Exam 1",
            "assignment[points_possible]": "10",
            "assignment[integration_id]": "exam-42",
            "assignment[submission_types][]": "none",
            "assignment[published]": "true",
        },
    )
    assert form.status_code == 201
    assert form.json()["integration_id"] == "exam-42" and form.json()["published"] is True
    body = http.post(f"{sim.url}/api/v1/courses/501/assignments", json={"assignment": {"name": "Exam 2"}})
    assert body.status_code == 201 and body.json()["published"] is False
    listed = get(sim, sim_token, "/courses/501/assignments").json()
    assert [a["name"] for a in listed] == ["Exam 1", "Exam 2"]
    missing = http.post(f"{sim.url}/api/v1/courses/501/assignments", data={"assignment[points_possible]": "1"})
    assert missing.status_code == 400


def test_grade_submission_creates_it(sim, sim_token):
    http = sim.api(sim_token)
    assignment = http.post(
        f"{sim.url}/api/v1/courses/501/assignments",
        data={"assignment[name]": "Exam", "assignment[points_possible]": "20", "assignment[published]": "true"},
    ).json()
    url = f"{sim.url}/api/v1/courses/501/assignments/{assignment['id']}/submissions/sis_user_id:S0001"
    before = http.get(url).json()
    assert before["workflow_state"] == "unsubmitted" and before["score"] is None
    graded = http.put(url, data={"submission[posted_grade]": "40%"})
    assert graded.status_code == 200
    assert graded.json()["score"] == 8.0 and graded.json()["grade"] == "8"
    assert http.get(url).json()["workflow_state"] == "graded"
    outsider = url.replace("sis_user_id:S0001", "202")
    assert http.put(outsider, data={"submission[posted_grade]": "1"}).status_code == 404


def test_an_unpublished_assignment_takes_no_grade_user_not_authorized(sim, sim_token):
    http = sim.api(sim_token)
    assignment = http.post(f"{sim.url}/api/v1/courses/501/assignments", data={"assignment[name]": "Draft"}).json()
    assert assignment["published"] is False  # Canvas creates assignments unpublished unless told
    url = f"{sim.url}/api/v1/courses/501/assignments/{assignment['id']}/submissions/101"
    refused = http.put(url, data={"submission[posted_grade]": "5"})
    assert refused.status_code == 401
    assert refused.json() == {
        "status": "unauthorized",
        "errors": [{"message": "user not authorized to perform that action"}],
    }
    assert "WWW-Authenticate" not in refused.headers  # a permission answer, not a bad token
    assert http.get(url).json()["score"] is None


def test_live_assessment_results_use_jsonapi_meta(sim, sim_token):
    body = get(sim, sim_token, "/courses/501/live_assessments/61/results", per_page=1).json()
    assert body["results"][0] == {
        "id": "71",
        "passed": True,
        "assessed_at": "2026-09-01T10:00:00Z",
        "links": {"user": "101", "assessor": "201", "assessment": "61"},
    }
    assert body["meta"]["pagination"]["page_count"] == 2 and "next" in body["meta"]["pagination"]
    filtered = get(sim, sim_token, "/courses/501/live_assessments/61/results", user_id="102").json()
    assert [r["id"] for r in filtered["results"]] == ["72"]


def test_every_seed_scope_endpoint_answers(sim):
    sim.control(f"keys/{DEMO_KEY_ID}", {"scopes": list(ALL_SCOPES)})
    token = sim.issue_token(list(ALL_SCOPES))["access_token"]
    paths = [
        "/accounts",
        "/course_accounts",
        "/accounts/1",
        "/accounts/1/help_links",
        "/accounts/1/courses",
        "/courses/501/assignments",
        "/accounts/1/courses/501",
        "/courses/501/users",
        "/courses/501/enrollments",
        "/courses/501/live_assessments/61/results",
        "/accounts/1/roles",
        "/courses/501/sections",
        "/courses/501/sections/801",
        "/sections/801",
        "/courses/501",
        "/courses/501/search_users",
    ]
    for path in paths:
        response = get(sim, token, path)
        assert response.status_code == 200, path
        assert "X-Request-Cost" in response.headers and "X-Rate-Limit-Remaining" in response.headers
