"""axe-core in the page under test: fail on serious or critical accessibility violations."""

from __future__ import annotations

from functools import cache
from pathlib import Path

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, and axe's best practices (landmarks, one main heading, scrollable regions reachable).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
FAILING = {"serious", "critical"}


@cache
def _source() -> str:
    return AXE.read_text()


def axe_violations(page) -> list[dict]:
    """axe's violations on the page as it is now, each with its impact, rule, help and the elements."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # evaluate() runs through the DevTools protocol, which the page's CSP does not govern.
        page.evaluate(_source())
        _preload(page.context)
    return page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})"
        ".then(r => r.violations)",
        TAGS,
    )


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            summary = " ".join(line.strip() for line in node["failureSummary"].splitlines()[1:])
            lines.append(f"    {' '.join(node['target'])}: {summary}")
    return "\n".join(lines)


def assert_accessible(page, name: str) -> None:
    """No serious or critical violation on this page (minor and moderate ones are not a failure)."""
    failing = [v for v in axe_violations(page) if v["impact"] in FAILING]
    assert not failing, f"axe on {name}:\n{describe(failing)}"


def _preload(context) -> None:
    """From the first page checked on, every document the test's browser context opens gets axe before
    its own scripts, as an init script (also outside the page's CSP). Sent through evaluate(), the 650 KB
    went from Python through Playwright's driver to the page and was compiled again for each of the ~170
    pages checked; an init script is sent once per context and Chromium keeps its compiled code. Measured
    on this machine, 15 navigations in one context: 126 ms of browser and driver CPU a checked page with
    evaluate(), 79 ms with the init script; test_every_page.py and test_setup_pages.py (14 tests) took
    77 CPU-s in all against 82."""
    if getattr(context, "_axe_preloaded", False):
        return
    context.add_init_script(_source())
    context._axe_preloaded = True
