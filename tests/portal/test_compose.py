"""docker-compose.yml, the production shape: every setting an operator may put in .env reaches the
containers (compose passes only the names it lists), and web is not published beyond the host."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_setting_of_env_example_reaches_the_containers():
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    passed = set(compose()["x-portal-env"])
    # POSTGRES_PASSWORD goes into DATABASE_URL and the postgres service; compose builds those two URLs itself.
    assert documented - passed - {"POSTGRES_PASSWORD"} == set()


def test_web_is_published_on_loopback_only_since_it_trusts_the_proxys_headers():
    assert compose()["services"]["web"]["ports"] == ["127.0.0.1:8000:8000"]
