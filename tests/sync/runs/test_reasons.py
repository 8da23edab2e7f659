"""The one reasons registry covers every code the code base emits, and the run page filters by each.

The codes are found in the source, not listed by hand: the code argument of the issue writer
(`issues.record`) and of `Exclusion(...)`, any `code=` keyword, what functions annotated to return a
`ReasonCode` return, and the values of names annotated `ReasonCode`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.urls import reverse

from sync.models import IssueSeverity
from sync.runs import issues
from sync.runs.lifecycle import create_run
from sync.runs.reasons import REASONS

SYNC = Path(__file__).resolve().parents[3] / "sync"
# One code from each place that emits them, so a scan that stops seeing a kind of call fails here.
SEEN_IN_EACH_EMITTER = {
    "sections_unreadable",  # catalog/refresh.py, the issue writer
    "course_gone",  # catalog/writes.py, an annotated conditional
    "grade_conflict",  # grades/passback.py, a code= keyword
    "already_running",  # schedule.py, a code= keyword
    "canvas_access_lost",  # engine/runner.py, an annotated constant
    "no_person_id",  # engine/plan.py, Exclusion(...)
    "inactive_enrollment",  # engine/plan.py, a function returning ReasonCode
    "course_unpublished",  # the can-sync rule, a function returning ReasonCode
    "duplicate_course_id",  # engine/changes.py, Exclusion(...)
}


def _strings(node: ast.AST | None) -> set[str]:
    return (
        {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)} if node else set()
    )


def _mentions_reason_code(annotation: ast.AST | None) -> bool:
    return annotation is not None and "ReasonCode" in ast.unparse(annotation)


def _writer(func: ast.AST) -> str:
    name = ast.unparse(func)
    return name if name in {"Exclusion", "issues.record"} else ""


def emitted_codes() -> dict[str, str]:
    """Every code literal in a code position of sync/, with where it was found."""
    found: dict[str, str] = {}
    for path in sorted(SYNC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        where = str(path.relative_to(SYNC.parent))
        for node in ast.walk(ast.parse(path.read_text(), filename=where)):
            codes: set[str] = set()
            if isinstance(node, ast.Call):
                writer = _writer(node.func)
                position = {"Exclusion": 0, "issues.record": 1}.get(writer)
                if position is not None and len(node.args) > position:
                    codes |= _strings(node.args[position]) if isinstance(node.args[position], ast.Constant) else set()
                # A form's ValidationError(code=...) is Django's error vocabulary, not a run's reason.
                if not ast.unparse(node.func).endswith("ValidationError"):
                    codes |= {s for kw in node.keywords if kw.arg == "code" for s in _strings(kw.value)}
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _mentions_reason_code(node.returns):
                for ret in (n for n in ast.walk(node) if isinstance(n, ast.Return)):
                    codes |= _strings(ret.value)
            elif isinstance(node, ast.AnnAssign) and _mentions_reason_code(node.annotation):
                value = node.value
                codes |= _strings(ast.List(value.values) if isinstance(value, ast.Dict) else value)
            for code in codes:
                found.setdefault(code, f"{where}:{node.lineno}")
    return found


def test_the_scan_sees_every_kind_of_emitter():
    assert set(emitted_codes()) >= SEEN_IN_EACH_EMITTER


def test_every_code_emitted_anywhere_has_an_entry():
    missing = {code: where for code, where in emitted_codes().items() if code not in REASONS}
    assert not missing, f"codes with no entry in sync/runs/reasons.py: {missing}"


def test_every_writer_call_names_its_code_where_the_scan_sees_it():
    """A code built at run time (an f-string, a variable) would escape the scan above."""
    for path in sorted(SYNC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and _writer(node.func)):
                continue
            position = 0 if _writer(node.func) == "Exclusion" else 1
            if len(node.args) <= position:
                continue
            arg = node.args[position]
            assert isinstance(arg, ast.Constant | ast.Name | ast.Attribute), f"{path}:{node.lineno}"
            assert not isinstance(arg, ast.JoinedStr), f"{path}:{node.lineno}"


@pytest.mark.parametrize("code", sorted(REASONS))
def test_each_entry_says_why_and_what_to_do(code):
    reason = REASONS[code]
    assert reason.code == code
    assert reason.title and reason.sentence and reason.fix
    assert reason.severity in IssueSeverity.values


def test_the_run_page_filters_by_each_code(client_a, institution_a):
    run = create_run(institution_a, "sync")
    for code in REASONS:
        issues.record(run.id, code, object_type="course", label=f"issue[{code}]")

    for code in REASONS:
        body = client_a.get(reverse("sync-run", args=[run.id]), {"code": code}).text
        shown = {c for c in REASONS if f"issue[{c}]" in body}
        assert shown == {code}, code
