"""The fault matrix, Refresh Courses side: the catalogue (courses fetched page by page, sections many
at a time) with a fault injected; a truthful end, and the catalogue equal to Canvas after a clean re-run."""

from __future__ import annotations

import pytest
from django.core import mail

from lms_canvas.models import CanvasConnection, ConnectionStatus
from sync.models import CatalogCourse, CatalogSection, RunStatus
from tests.faults.helpers import catalogue, sim_catalogue, start_refresh_run
from tests.faults.test_sync_faults import reauthorize

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


def assert_catalogue_converged(institution, sim) -> None:
    run = start_refresh_run(institution)
    assert run.status == RunStatus.SUCCEEDED, run.message
    assert catalogue(institution) == sim_catalogue(sim)
    for model in (CatalogCourse, CatalogSection):
        ids = list(model.objects.filter(institution=institution).values_list("canvas_id", flat=True))
        assert len(ids) == len(set(ids))


def test_refresh_absorbs_5xx_on_a_tenth_of_requests(conn_a, big_sim, institution_a):
    big_sim.control("faults", {"error_rate": 0.1, "error_status": 500, "paths": "^/api/", "seed": 2})
    run = start_refresh_run(institution_a)

    assert run.status == RunStatus.SUCCEEDED, run.message
    assert catalogue(institution_a) == sim_catalogue(big_sim)
    big_sim.control("faults", {})
    assert_catalogue_converged(institution_a, big_sim)


def test_refresh_renews_a_token_that_expires_mid_run(conn_a, big_sim, institution_a, after_requests):
    after_requests.at(5, lambda: big_sim.control("clock", {"advance_s": 3700}))
    run = start_refresh_run(institution_a)

    assert after_requests.fired == [5]
    assert run.status == RunStatus.SUCCEEDED, run.message
    assert big_sim.control("stats")["tokens_refreshed"] >= 1
    assert catalogue(institution_a) == sim_catalogue(big_sim)


def test_refresh_with_the_refresh_token_revoked_mid_run_fails_and_asks_for_reauthorization(
    conn_a, big_sim, institution_a, after_requests, admin_a
):
    after_requests.at(5, lambda: big_sim.control("tokens/revoke"))
    mail.outbox.clear()
    run = start_refresh_run(institution_a)

    assert run.status == RunStatus.FAILED, run.message
    assert "Generate Key" in run.message and "nothing was marked gone" in run.message
    assert CanvasConnection.objects.get(institution=institution_a).status == ConnectionStatus.NEEDS_REAUTH
    assert len(mail.outbox) == 1
    assert not CatalogCourse.objects.filter(institution=institution_a, gone_at__isnull=False).exists()
    reauthorize(institution_a, big_sim)
    assert_catalogue_converged(institution_a, big_sim)


def test_refresh_with_a_pagination_loop_names_it(conn_a, big_sim, institution_a):
    # A course with more sections than a page holds, so its section list has a next link to loop.
    course = min(big_sim.store.tables["courses"])
    extra = [{"id": 990_000 + i, "course_id": course, "name": f"Lab {i}"} for i in range(105)]
    big_sim.control("mutate", {"upsert": {"sections": extra}})
    big_sim.control("faults", {"loop_pagination": True, "paths": "/sections"})
    run = start_refresh_run(institution_a)

    assert run.status == RunStatus.FAILED, run.message
    assert "links back to a page already read" in run.message
    assert not CatalogCourse.objects.filter(institution=institution_a, gone_at__isnull=False).exists()
    big_sim.control("faults", {})
    assert_catalogue_converged(institution_a, big_sim)
