"""Runs: their lifecycle, their issues and the one reasons registry, the reaper, the emails about them,
and the View History pages."""
