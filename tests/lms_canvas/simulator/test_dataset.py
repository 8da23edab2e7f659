from __future__ import annotations

import json
import statistics
from collections import Counter

from lms_canvas.simulator.__main__ import main
from lms_canvas.simulator.app import build_store
from lms_canvas.simulator.generator import generate_dataset
from lms_canvas.simulator.store import ROLE_ID_BY_TYPE, Store, validate
from lms_canvas.simulator.testing import small_dataset


def test_check_names_list_id_and_field_of_a_dangling_reference():
    dataset = small_dataset()
    dataset["enrollments"][0]["user_id"] = 4242
    assert validate(dataset) == ["enrollments id 9001: field user_id refers to missing users id 4242"]


def test_check_catches_duplicates():
    dataset = small_dataset()
    dataset["courses"].append(dict(dataset["courses"][0]))
    dataset["users"][2]["sis_user_id"] = "S0001"
    problems = validate(dataset)
    assert "courses id 501: duplicate id" in problems
    assert any(p.startswith("users id 102: duplicate sis_user_id 'S0001'") for p in problems)


def test_check_catches_section_of_another_course():
    dataset = small_dataset()
    dataset["enrollments"][0]["course_section_id"] = 803
    assert any("enrollments id 9001: field course_section_id 803" in p for p in validate(dataset))


def test_builtin_roles_exist_even_when_not_listed():
    store = Store({})
    assert {rid: store.tables["roles"][rid]["label"] for rid in (3, 4, 5, 6, 7)} == {
        3: "StudentEnrollment",
        4: "TeacherEnrollment",
        5: "TaEnrollment",
        6: "DesignerEnrollment",
        7: "ObserverEnrollment",
    }
    assert ROLE_ID_BY_TYPE["TeacherEnrollment"] == 4


def test_generate_is_deterministic_and_passes_check():
    first, second = generate_dataset(120, seed=3), generate_dataset(120, seed=3)
    assert first == second
    assert generate_dataset(120, seed=4) != first
    assert validate(first) == []


def test_generated_institution_has_the_awkward_cases():
    dataset = generate_dataset(400, seed=1)
    students = Counter(e["course_id"] for e in dataset["enrollments"] if e["type"] == "StudentEnrollment")
    assert 20 <= statistics.median(students.values()) <= 40
    assert max(students.values()) > 300  # the contract: "median about 30, some over 300"
    states = Counter(e["enrollment_state"] for e in dataset["enrollments"])
    assert {"active", "invited", "inactive", "completed"} <= set(states)
    courses = Counter(c["workflow_state"] for c in dataset["courses"])
    assert {"available", "unpublished", "deleted", "completed"} <= set(courses)
    assert any(c["sis_course_id"] is None for c in dataset["courses"])
    assert any(s["nonxlist_course_id"] for s in dataset["sections"])
    assert any(s["sis_section_id"] is None for s in dataset["sections"])
    assert any(u["sis_user_id"] is None for u in dataset["users"]) and any(u["email"] is None for u in dataset["users"])
    assert any("'" in u["name"] for u in dataset["users"]) and any(not u["name"].isascii() for u in dataset["users"])
    assert max(Counter(e["user_id"] for e in dataset["enrollments"]).values()) >= 10
    assert {e["role_id"] for e in dataset["enrollments"]} >= {20, 21}
    key = dataset["developer_keys"][0]
    assert (key["id"], key["api_key"], key["state"], key["require_scopes"]) == (
        170000000000001,
        "demo-secret",
        "on",
        True,
    )
    assert len(key["scopes"]) == 17
    assert dataset["admins"] == [{"login": "canvas-admin", "password": "canvas-admin", "user_id": 1}]


def test_lazy_rosters_equal_the_written_dataset():
    full = generate_dataset(30, seed=5)
    lazy = build_store(generate=30, seed=5)
    for course in full["courses"]:
        expected = [e for e in full["enrollments"] if e["course_id"] == course["id"]]
        assert lazy.course_enrollments(course["id"]) == expected
    user = full["users"][5]
    assert lazy.user(user["id"]) == user
    if user["sis_user_id"]:
        assert lazy.resolve("users", f"sis_user_id:{user['sis_user_id']}") == user


def test_mutate_upsert_replaces_only_given_fields_and_materializes_lazy_rosters():
    store = build_store(generate=10, seed=2)
    enrollment = store.course_enrollments(1001)[0]
    store.mutate({"enrollments": [{"id": enrollment["id"], "enrollment_state": "inactive"}]}, {})
    changed = store.enrollment(enrollment["id"])
    assert changed["enrollment_state"] == "inactive" and changed["user_id"] == enrollment["user_id"]
    assert 1001 in store.materialized
    store.mutate({}, {"enrollments": [enrollment["id"]]})
    assert store.enrollment(enrollment["id"]) is None


def test_cli_generate_and_check(tmp_path, capsys):
    out = tmp_path / "institution.json"
    assert main(["generate", "--courses", "25", "--seed", "9", "--out", str(out)]) == 0
    dataset = json.loads(out.read_text())
    assert dataset == generate_dataset(25, seed=9)
    assert main(["check", str(out)]) == 0
    dataset["sections"][0]["course_id"] = 77
    out.write_text(json.dumps(dataset))
    assert main(["check", str(out)]) == 1
    assert (
        f"sections id {dataset['sections'][0]['id']}: field course_id refers to missing courses id 77"
        in capsys.readouterr().out
    )
