"""A grade post's run page and View History count grades in a grade post's words (issue 16, "Done when":
a post with a lost write, a grade changed in Canvas), not a sync's "created · deactivated · skipped"
of portal records and Canvas enrollments. Against the simulator."""

from __future__ import annotations

from django.urls import reverse

from tests.sync.grades.test_passback import post, teacher_regrades
from tests.sync.grades.test_readback import check


def words(response) -> str:
    return " ".join(response.text.split())


def test_a_post_with_a_lost_write_counts_grades_posted_and_not_posted(client_a, sim, exam):
    sim.control("faults", {"lost_grade_write_rate": 1.0, "paths": "/submissions/101$"})
    run = post(exam)

    page = words(client_a.get(reverse("sync-run", args=[run.id])))
    listing = words(client_a.get(reverse("sync-history")))

    counts = "2 posted · 0 updated · 0 unchanged · 1 not posted · 0 changed in Canvas"
    assert counts in page and counts in listing
    assert "Counted: the exam's grades, one per exam-taker" in page
    assert "deactivated" not in page.split("Counts", 1)[1].split("</dd>", 1)[0]


def test_a_grade_changed_in_canvas_is_counted_as_such_by_the_post_and_the_check(client_a, sim, exam):
    post(exam)
    exam.refresh_from_db()
    teacher_regrades(sim, exam.lms_assignment_id, 101, 60)

    again = post(exam)
    checked = check(exam)

    posted = words(client_a.get(reverse("sync-run", args=[again.id])))
    assert "0 posted · 0 updated · 2 unchanged · 0 not posted · 1 changed in Canvas" in posted
    page = words(client_a.get(reverse("sync-run", args=[checked.id])))
    assert "3 checked: 2 match · 1 differs · 0 could not be read" in page
    assert "3 checked: 2 match · 1 differs · 0 could not be read" in words(client_a.get(reverse("sync-history")))


def test_a_sync_keeps_its_own_counts_and_legend(client_a, institution_a):
    from sync.models import RunKind
    from sync.runs import lifecycle

    run = lifecycle.create_run(institution_a, RunKind.SYNC)
    lifecycle.claim(run.id)
    lifecycle.finish(run.id, "succeeded", "Synced.", {"created": 3, "skipped": 1})

    page = words(client_a.get(reverse("sync-run", args=[run.id])))
    assert "3 created · 0 updated · 0 deactivated · 0 unchanged · 1 skipped" in page
    assert "Counted: portal records" in page


def test_a_post_stopped_by_an_unpublished_assignment_counts_the_grades_it_did_not_send(client_a, sim, exam):
    from tests.sync.grades.test_readback import unpublished_assignment

    unpublished_assignment(sim, exam)
    run = post(exam)

    page = words(client_a.get(reverse("sync-run", args=[run.id])))
    assert (
        "0 posted · 0 updated · 0 unchanged · 0 not posted · 0 changed in Canvas · 3 not sent: the post stopped" in page
    )
    # The issue names the assignment (its reason says why and what to do), not the run's message again.
    [issue] = run.issues.all()
    assert issue.message == "Assignment “Midterm” (Canvas id 7002) in LAW-101-F26 Contracts I: unpublished in Canvas."
    assert page.count("Canvas assignment is unpublished, and Canvas takes no grade") == 1
