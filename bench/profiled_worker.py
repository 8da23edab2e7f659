"""`celery` with each task's thread profiled (cProfile) into the file named by BENCH_PROFILE, for
`python -m bench.refresh --profile FILE`: the same worker command, arguments unchanged.

    BENCH_PROFILE=/tmp/refresh.prof python -m bench.profiled_worker -A portal worker --concurrency=4
"""

from __future__ import annotations

import cProfile
import os
import sys

from celery.__main__ import main
from celery.signals import task_postrun, task_prerun

_profiles: dict[str, cProfile.Profile] = {}


@task_prerun.connect
def _start(task_id: str, **kwargs: object) -> None:
    profile = _profiles[task_id] = cProfile.Profile()
    profile.enable()


@task_postrun.connect
def _stop(task_id: str, **kwargs: object) -> None:
    profile = _profiles.pop(task_id, None)
    if profile is not None:
        profile.disable()
        profile.dump_stats(os.environ["BENCH_PROFILE"])


if __name__ == "__main__":
    sys.argv[0] = "celery"
    sys.exit(main())
