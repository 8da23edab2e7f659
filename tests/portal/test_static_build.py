"""The Dockerfile's static build, with DEBUG off as in production: whitenoise's manifest storage must
find every file a vendored asset names, or the image cannot be built and every page answers 500."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.portal.test_settings import ROOT, _clean_environ

VENDORED = ["vendor/chartjs/chart.umd.min.js", "vendor/htmx/htmx.min.js", "vendor/pico/pico.min.css"]


@pytest.fixture(scope="module")
def static_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("staticfiles")
    r = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        env={**_clean_environ(), "DEBUG": "false", "SECRET_KEY": "x", "ALLOWED_HOSTS": "x", "STATIC_ROOT": str(root)},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return root


def test_it_builds_the_static_files_with_debug_off(static_root):
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    for name in [*VENDORED, "css/portal.css", "js/sync_history.js"]:
        assert name in manifest, f"{name} is missing from the manifest"
        assert (static_root / manifest[name]).exists()
        assert (static_root / (manifest[name] + ".gz")).exists()


def test_no_vendored_file_names_a_file_that_is_not_shipped():
    # Source maps are not copied from npm; a sourceMappingURL comment would make the build fail.
    for path in (ROOT / "static").rglob("*"):
        if path.suffix in {".js", ".css"}:
            assert "sourceMappingURL" not in path.read_text(), path.relative_to(ROOT)


def test_a_page_references_the_hashed_names_with_debug_off(static_root, tmp_path):
    code = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "r = Client().get('/login/', secure=True, HTTP_HOST='x')\n"
        "print(r.status_code); print(r.content.decode())\n"
    )
    env = {
        **_clean_environ(),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "false",
        "SECRET_KEY": "x",
        "ALLOWED_HOSTS": "x",
        "STATIC_ROOT": str(static_root),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    status, html = r.stdout.split("\n", 1)
    assert status == "200", html
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    for name in ["vendor/pico/pico.min.css", "vendor/htmx/htmx.min.js", "css/portal.css"]:
        assert f'"/static/{manifest[name]}"' in html
        assert manifest[name] != name
