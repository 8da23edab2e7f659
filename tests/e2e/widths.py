"""The two widths every page is looked at (a laptop, a phone), and the check that a page fits."""

from __future__ import annotations

import os

WIDTHS = {"desktop": 1280, "phone": 390}


def looks_right(page, name: str, width: str) -> None:
    """No sideways scrolling at this width; and a full-page screenshot when SHOTS_DIR asks for one."""
    page.wait_for_load_state()  # a page a click is still opening has no document to measure yet
    if shots := os.environ.get("SHOTS_DIR"):
        os.makedirs(shots, exist_ok=True)
        page.screenshot(path=os.path.join(shots, f"{name}-{width}.png"), full_page=True)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {WIDTHS[width]}px"
