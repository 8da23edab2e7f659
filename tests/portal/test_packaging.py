"""The two locks: requirements.lock, all the production image installs, pins what requirements-dev.lock
pins, and holds none of the dev extra (the Canvas simulator's Werkzeug, honcho, the test tools). The
production smoke (.ci/smoke.py) then runs web, worker and beat with that lock only."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def pins(lock: str) -> dict[str, str]:
    found = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (ROOT / lock).read_text(), re.M)
    return {name.lower(): version for name, version in found}


def names(requirements: list[str]) -> set[str]:
    return {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower() for r in requirements}


def test_production_pins_the_same_versions_as_development():
    production, development = pins("requirements.lock"), pins("requirements-dev.lock")
    assert production and production.items() <= development.items()


def test_production_has_none_of_the_dev_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    dev_only = names(project["optional-dependencies"]["dev"]) - names(project["dependencies"])
    assert {"werkzeug", "honcho", "pytest"} <= dev_only
    assert dev_only & set(pins("requirements.lock")) == set()
