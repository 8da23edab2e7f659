"""`{% run_progress_of run as progress %}`: a running sync's time left and the courses being synced now
(sync.runs.progress), for the run's progress fragment whether the page or its poll renders it."""

from __future__ import annotations

from django import template

from sync.models import SyncRun
from sync.runs.progress import Progress, progress_of

register = template.Library()


@register.simple_tag
def run_progress_of(run: SyncRun) -> Progress:
    return progress_of(run)
