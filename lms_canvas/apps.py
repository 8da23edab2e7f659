from __future__ import annotations

from django.apps import AppConfig


class LmsCanvasConfig(AppConfig):
    name = "lms_canvas"
    verbose_name = "Canvas"
