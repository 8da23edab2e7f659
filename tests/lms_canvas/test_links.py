"""Canvas addresses are built in lms_canvas only: its pages in links.py, its API in client.py and oauth.py."""

from __future__ import annotations

from pathlib import Path

from lms_canvas import links

ROOT = Path(__file__).resolve().parents[2]
# The modules allowed to spell Canvas API paths (scopes.py lists them as Canvas scope names).
CANVAS_MODULES = {"lms_canvas/client.py", "lms_canvas/oauth.py", "lms_canvas/scopes.py"}


def test_links_to_canvas_pages():
    assert links.course_page("https://canvas.test/", 501) == "https://canvas.test/courses/501"
    assert links.section_page("https://canvas.test", 501, 801) == "https://canvas.test/courses/501/sections/801"
    assert links.course_user_page("https://canvas.test", 501, 104) == "https://canvas.test/courses/501/users/104"
    assert links.course_page("", 501) == links.section_page("", 501, 801) == ""


def test_no_product_module_outside_the_client_builds_a_canvas_api_path():
    spelled = [
        str(path.relative_to(ROOT))
        for package in ("portal", "lms_canvas", "sync")
        for path in (ROOT / package).rglob("*.py")
        if "simulator" not in path.parts
        and str(path.relative_to(ROOT)) not in CANVAS_MODULES
        and ("/api/v1" in path.read_text() or "/login/oauth2" in path.read_text())
    ]
    assert spelled == []
