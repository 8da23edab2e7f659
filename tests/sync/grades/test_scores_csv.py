"""Score CSV upload: every validation message, with its line; nothing applied from a file with an error."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal import csvfile
from portal.models import Enrollment, EnrollmentStatus, ExamScore, ExamTaker
from sync.grades import scores
from tests.sync.passback_helpers import make_course, make_exam


@pytest.fixture
def exam(institution_a):
    return make_exam(make_course(institution_a), points="50")


def read(exam, text: str | bytes):
    data = text if isinstance(text, bytes) else text.encode()
    return scores.read_scores_csv(data, exam)


def test_a_clean_file_is_read_and_applied(exam):
    parsed = read(exam, "Student ID,Name,Score\nS0001,Ada,42.5\nS0002,Seán,0\n\nzmuller,,50\n")

    assert parsed.errors == []
    assert [(r.line, r.exam_taker.student_id, r.score) for r in parsed.rows] == [
        (2, "S0001", Decimal("42.50")),
        (3, "S0002", Decimal("0.00")),
        (5, "zmuller", Decimal("50.00")),
    ]
    applied = scores.apply_scores(exam, parsed)
    assert (applied.created, applied.updated, applied.unchanged) == (3, 0, 0)
    assert ExamScore.objects.get(exam=exam, exam_taker__student_id="S0001").score == Decimal("42.5")


def test_uploading_again_updates_changed_scores_and_counts_unchanged_ones(exam):
    scores.apply_scores(exam, read(exam, "Student ID,Score\nS0001,40\nS0002,30\n"))

    applied = scores.apply_scores(exam, read(exam, "Student ID,Score\nS0001,41\nS0002,30\nzmuller,1\n"))

    assert (applied.created, applied.updated, applied.unchanged) == (1, 1, 1)


def test_headers_are_found_in_any_order_and_case_with_a_byte_order_mark(exam):
    parsed = read(exam, "\ufeffscore , STUDENT ID\n12,S0001\n".encode())

    assert parsed.errors == []
    assert parsed.rows[0].score == Decimal("12")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", (None, scores.EMPTY_FILE)),
        ("  \n\n", (None, scores.EMPTY_FILE)),
        ("Student ID,Score\n", (None, scores.NO_ROWS)),
        (
            "Student,Points\nS0001,4\n",
            (1, "The first row must name the columns “Student ID” and “Score”; it has “Student”, “Points”. "
             "Download the template from this page to see the format."),
        ),
        (
            "S0001,40\n",
            (1, "The first row must name the columns “Student ID” and “Score”; it has “S0001”, “40”. "
             "Download the template from this page to see the format."),
        ),
    ],
)  # fmt: skip
def test_file_level_problems_are_reported(exam, text, error):
    assert read(exam, text).errors == [error]


def test_a_file_that_is_not_utf8_is_reported(exam):
    assert read(exam, "Student ID,Score\nS0001,40\nMüller,3\n".encode("latin-1")).errors == [(None, scores.NOT_UTF8)]
    assert scores.NOT_UTF8 == (
        "The file is not UTF-8 text. In your spreadsheet program, save it as “CSV UTF-8” and upload it again."
    )


def test_a_file_with_a_nul_character_is_refused_naming_its_line(exam):
    # UTF-16 without a byte-order mark decodes as UTF-8 with a NUL after every character.
    assert read(exam, "Student ID,Score\nS0001,40\n".encode("utf-16-le")).errors == [
        (1, csvfile.NUL_IN_FILE.format(line=1))
    ]
    assert read(exam, "Student ID,Score\nS0001,40\nS00\x0002,3\n").errors == [
        (3, "Line 3 contains a NUL character (a zero byte), which CSV text never has: the file was probably "
         "saved in another format. In your spreadsheet program, save it as “CSV UTF-8” and try again.")
    ]  # fmt: skip


def test_a_file_too_large_is_reported(exam):
    data = b"Student ID,Score\n" + b"S0001,1\n" * (scores.MAX_BYTES // 8 + 1)
    assert read(exam, data).errors == [(None, "The file is larger than 2 MB; split it into smaller files.")]


def test_a_file_with_too_many_rows_is_reported(exam, monkeypatch):
    monkeypatch.setattr(scores, "MAX_ROWS", 2)
    assert read(exam, "Student ID,Score\nS0001,1\nS0002,2\nzmuller,3\n").errors == [(None, scores.TOO_MANY_ROWS)]


def test_a_file_with_too_many_rows_is_not_read_past_the_limit(exam, monkeypatch):
    # Refused at the first row over: what follows (here a field no CSV reader takes) is never parsed,
    # so a huge file costs no more than the limit.
    monkeypatch.setattr(scores, "MAX_ROWS", 2)
    data = 'Student ID,Score\nS0001,1\nS0002,2\nzmuller,3\nS0004,"' + "x" * 200_000 + '"\n'
    assert read(exam, data).errors == [(None, scores.TOO_MANY_ROWS)]


def test_unreadable_csv_is_reported(exam):
    parsed = read(exam, 'Student ID,Score\nS0001,"' + "x" * 200_000 + '"\n')
    assert len(parsed.errors) == 1
    line, message = parsed.errors[0]
    assert message.startswith("The file could not be read as CSV: field larger than field limit")
    assert message.endswith("Save it from your spreadsheet program as CSV and try again.")


def test_every_row_problem_is_reported_with_its_line(exam, institution_a):
    outsider = ExamTaker.objects.create(
        institution=institution_a, student_id="S0099", first_name="Out", last_name="Sider"
    )
    removed = ExamTaker.objects.get(student_id="S0002")
    Enrollment.objects.filter(exam_taker=removed).update(status=EnrollmentStatus.INACTIVE)
    text = "\n".join(
        [
            "Student ID,Score",
            ",40",  # 2
            "NOPE,40",  # 3
            f"{outsider.student_id},40",  # 4
            "S0002,40",  # 5
            "S0001,",  # 6
            "zmuller,abc",  # 7
            "S0001,12",  # 8: S0001 was on line 6
            "X1,-1",  # 9 (unknown too)
            "X2,50.5",  # 10
            "X3,10.125",  # 11
            "X4,NaN",  # 12
            "X5,1e999999999",  # 13
        ]
    )

    parsed = read(exam, text)

    assert parsed.rows == []
    assert parsed.errors == [
        (2, "The Student ID is empty."),
        (3, "No exam-taker in your institution has Student ID “NOPE”."),
        (4, "S0099 Out Sider is not an active exam-taker of course LAW-101-F26."),
        (5, "S0002 Seán O'Brien is not an active exam-taker of course LAW-101-F26."),
        (6, "The score for “S0001” is empty."),
        (7, "The score “abc” is not a number (use digits and a decimal point, such as 87.5)."),
        (8, "Student ID “S0001” is also on line 6; give each exam-taker one score."),
        (9, "The score -1 is negative; scores go from 0 to 50."),
        (9, "No exam-taker in your institution has Student ID “X1”."),
        (10, "The score 50.5 is more than the exam's 50 points possible."),
        (10, "No exam-taker in your institution has Student ID “X2”."),
        (11, "The score 10.125 has more than two decimal places."),
        (11, "No exam-taker in your institution has Student ID “X3”."),
        (12, "The score “NaN” is not a number (use digits and a decimal point, such as 87.5)."),
        (12, "No exam-taker in your institution has Student ID “X4”."),
        (13, "The score 1e999999999 is more than the exam's 50 points possible."),
        (13, "No exam-taker in your institution has Student ID “X5”."),
    ]


def test_exam_takers_of_another_institution_are_unknown(exam, institution_b):
    ExamTaker.objects.create(institution=institution_b, student_id="B1")
    assert read(exam, "Student ID,Score\nB1,3\n").errors == [
        (2, "No exam-taker in your institution has Student ID “B1”.")
    ]


def test_a_file_with_any_error_applies_nothing(exam):
    parsed = read(exam, "Student ID,Score\nS0001,10\nS0002,999\n")

    assert parsed.rows and parsed.errors
    with pytest.raises(ValueError, match="cannot be applied"):
        scores.apply_scores(exam, parsed)
    assert not ExamScore.objects.exists()


def test_the_template_lists_active_exam_takers_with_their_scores(exam):
    scores.apply_scores(exam, read(exam, "Student ID,Score\nS0001,0\n"))
    assert scores.template_csv(exam).splitlines() == [
        "Student ID,Name,Score",
        "S0001,Ada Lovelace,0",
        "S0002,Seán O'Brien,",
        "zmuller,Zoë Müller,",
    ]


def test_the_template_marks_formula_student_ids_and_names_as_text_and_reads_back(exam):
    for n, student_id in enumerate(["+cmd|' /C calc'!A0", "-2+3", "=1", "-7"]):
        taker = ExamTaker.objects.create(
            institution=exam.course.institution, student_id=student_id, first_name="=HYPERLINK(1)", lms_id=900 + n
        )
        Enrollment.objects.create(course=exam.course, exam_taker=taker)

    lines = scores.template_csv(exam).splitlines()

    assert "'+cmd|' /C calc'!A0,'=HYPERLINK(1)," in lines
    assert "'-2+3,'=HYPERLINK(1)," in lines and "'=1,'=HYPERLINK(1)," in lines
    assert "-7,'=HYPERLINK(1)," in lines  # a number is not a formula: left as it is
    filled = "\n".join(line + "5" if line.endswith(",") else line for line in lines)
    parsed = read(exam, filled)
    assert parsed.errors == []
    assert {r.exam_taker.student_id for r in parsed.rows} >= {"+cmd|' /C calc'!A0", "-2+3", "=1", "-7"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=400), st.text(max_size=400).map(str.encode)))
def test_the_parser_never_raises_and_never_applies_a_file_with_errors(exam, data):
    parsed = scores.read_scores_csv(data, exam)

    if parsed.errors:
        with pytest.raises(ValueError):
            scores.apply_scores(exam, parsed)
        assert not ExamScore.objects.filter(exam=exam).exists()
    assert all(isinstance(line, int | None) and message for line, message in parsed.errors)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["S0001", "S0002", "zmuller", "X", "", "S0001 "]), st.text(max_size=12)),
        max_size=6,
    )
)
def test_csv_shaped_input_never_raises_and_a_clean_file_has_a_row_per_line(exam, rows):
    text = "Student ID,Score\n" + "\n".join(f'"{sid}","{score.replace(chr(34), "")}"' for sid, score in rows)

    parsed = scores.read_scores_csv(text.encode(), exam)

    if not parsed.errors:
        assert len(parsed.rows) == len([sid for sid, score in rows if sid.strip() or score.strip()])
