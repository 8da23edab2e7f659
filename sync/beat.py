"""Celery beat's scheduler: django-celery-beat's database scheduler, plus the two things a deployment
must not depend on anyone remembering. When beat starts it installs the portal's periodic tasks (the
nightly dispatcher, the run reaper) if they are missing, disabled or changed; and every tick is
recorded, so /readyz can tell that beat is alive."""

from __future__ import annotations

import logging

from django_celery_beat.schedulers import DatabaseScheduler

from portal.health import record_beat_tick
from sync.schedule import install_periodic_tasks

logger = logging.getLogger(__name__)


class Scheduler(DatabaseScheduler):
    def setup_schedule(self) -> None:
        restored = install_periodic_tasks()
        if restored:
            logger.warning("Beat restored its periodic tasks: %s", ", ".join(restored))
        super().setup_schedule()

    def tick(self, *args, **kwargs) -> float:
        record_beat_tick()  # never raises: a database that is down leaves the heartbeat to go stale
        return super().tick(*args, **kwargs)
