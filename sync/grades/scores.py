"""Exam scores from a CSV upload: every problem reported with its line, nothing applied until the file is clean.

The file has a header row with a “Student ID” column (the portal's Student ID) and a “Score”
column; other columns (a name, say) are ignored. `read_scores_csv` never raises on any input:
whatever is wrong becomes a line-numbered error. `apply_scores` refuses a file with errors.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction

from portal import csvfile
from portal.models import Enrollment, EnrollmentStatus, Exam, ExamScore, ExamTaker

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 20_000
STUDENT_ID_COLUMN = "Student ID"
SCORE_COLUMN = "Score"
TWO_PLACES = Decimal("0.01")

EMPTY_FILE = "The file is empty. Upload a CSV file with a header row “Student ID,Score” and one row per exam-taker."
TOO_LARGE = "The file is larger than 2 MB; split it into smaller files."
NOT_UTF8 = "The file is not UTF-8 text. In your spreadsheet program, save it as “CSV UTF-8” and upload it again."
NOT_CSV = "The file could not be read as CSV: {error}. Save it from your spreadsheet program as CSV and try again."
BAD_HEADER = (
    "The first row must name the columns “Student ID” and “Score”; it has {found}. "
    "Download the template from this page to see the format."
)
TOO_MANY_ROWS = f"The file has more than {MAX_ROWS:,} rows; split it into smaller files."
NO_ROWS = "The file has a header row but no scores."
NO_STUDENT_ID = "The Student ID is empty."
UNKNOWN_STUDENT = "No exam-taker in your institution has Student ID “{value}”."
NOT_IN_COURSE = "{person} is not an active exam-taker of course {course}."
NO_SCORE = "The score for “{value}” is empty."
NOT_A_NUMBER = "The score “{value}” is not a number (use digits and a decimal point, such as 87.5)."
NEGATIVE = "The score {value} is negative; scores go from 0 to {points}."
TOO_HIGH = "The score {value} is more than the exam's {points} points possible."
TOO_PRECISE = "The score {value} has more than two decimal places."
DUPLICATE = "Student ID “{value}” is also on line {line}; give each exam-taker one score."


@dataclass
class ScoreRow:
    line: int
    exam_taker: ExamTaker
    score: Decimal


@dataclass
class ScoreFile:
    rows: list[ScoreRow] = field(default_factory=list)
    errors: list[tuple[int | None, str]] = field(default_factory=list)

    @property
    def is_clean(self) -> bool:
        return not self.errors and bool(self.rows)

    def error(self, line: int | None, message: str) -> None:
        self.errors.append((line, message))


@dataclass
class Applied:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def read_scores_csv(data: bytes, exam: Exam) -> ScoreFile:
    """Parse and check an uploaded file against `exam` (its course's exam-takers, its points possible)."""
    result = ScoreFile()
    if len(data) > MAX_BYTES:
        result.error(None, TOO_LARGE)
        return result
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        result.error(None, NOT_UTF8)
        return result
    if not text.strip():
        result.error(None, EMPTY_FILE)
        return result
    if (nul := csvfile.first_nul_line(text)) is not None:
        result.error(nul, csvfile.NUL_IN_FILE.format(line=nul))
        return result
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
        columns = _columns(header)
        if columns is None:
            found = ", ".join(f"“{c.strip()}”" for c in header if c.strip()) or "no column names"
            result.error(1, BAD_HEADER.format(found=found))
            return result
        body = []
        for line, record in enumerate(reader, start=2):
            if any(cell.strip() for cell in record):
                body.append((line, record))
                # Refused at the first row over: the rest of a huge file is never parsed.
                if len(body) > MAX_ROWS:
                    result.error(None, TOO_MANY_ROWS)
                    return result
    except csv.Error as exc:
        result.error(None, NOT_CSV.format(error=exc))
        return result
    if not body:
        result.error(None, NO_ROWS)
        return result
    _check_rows(result, body, columns, exam)
    return result


def _columns(header: list[str]) -> tuple[int, int] | None:
    names = [cell.strip().lstrip("\ufeff").casefold() for cell in header]
    wanted = (STUDENT_ID_COLUMN.casefold(), SCORE_COLUMN.casefold())
    if not all(name in names for name in wanted):
        return None
    return names.index(wanted[0]), names.index(wanted[1])


def _check_rows(result: ScoreFile, body: list[tuple[int, list[str]]], columns: tuple[int, int], exam: Exam) -> None:
    id_col, score_col = columns
    cells = [(line, _cell(r, id_col), _cell(r, score_col)) for line, r in body]
    wanted = {student_id for _, student_id, _ in cells if student_id}
    takers = {
        t.student_id: t
        for t in ExamTaker.objects.filter(institution_id=exam.course.institution_id, student_id__in=wanted)
    }
    enrolled = set(
        Enrollment.objects.filter(
            course=exam.course, status=EnrollmentStatus.ACTIVE, exam_taker__student_id__in=wanted
        ).values_list("exam_taker__student_id", flat=True)
    )
    first_line: dict[str, int] = {}
    for line, student_id, raw_score in cells:
        if not student_id:
            result.error(line, NO_STUDENT_ID)
            continue
        if student_id in first_line:
            result.error(line, DUPLICATE.format(value=student_id, line=first_line[student_id]))
            continue
        first_line[student_id] = line
        score = _score(result, line, student_id, raw_score, exam.points_possible)
        taker = takers.get(student_id)
        if taker is None:
            result.error(line, UNKNOWN_STUDENT.format(value=student_id))
        elif student_id not in enrolled:
            person = f"{taker.student_id} {taker.full_name}".strip()
            result.error(line, NOT_IN_COURSE.format(person=person, course=exam.course.course_id))
        elif score is not None:
            result.rows.append(ScoreRow(line, taker, score))


def _cell(record: list[str], index: int) -> str:
    """A cell, with the template's formula mark undone (a Student ID “'=1” is the student “=1”)."""
    return csvfile.restore(record[index].strip()) if index < len(record) else ""


def _score(result: ScoreFile, line: int, student_id: str, raw: str, points: Decimal) -> Decimal | None:
    if not raw:
        result.error(line, NO_SCORE.format(value=student_id))
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        result.error(line, NOT_A_NUMBER.format(value=raw[:50]))
        return None
    shown, limit = (_text(value) if abs(value.adjusted()) < 12 else raw[:50]), _text(points)
    if value < 0:
        result.error(line, NEGATIVE.format(value=shown, points=limit))
    elif value > points:
        result.error(line, TOO_HIGH.format(value=shown, points=limit))
    elif value != value.quantize(TWO_PLACES):
        result.error(line, TOO_PRECISE.format(value=shown))
    else:
        return value.quantize(TWO_PLACES)
    return None


def _text(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def apply_scores(exam: Exam, parsed: ScoreFile) -> Applied:
    """Upsert a clean file's scores; a file with any error applies nothing (ValueError)."""
    if not parsed.is_clean:
        raise ValueError("A score file with errors cannot be applied.")
    applied = Applied()
    with transaction.atomic():
        existing = {s.exam_taker_id: s for s in ExamScore.objects.select_for_update().filter(exam=exam)}
        new = []
        for row in parsed.rows:
            current = existing.get(row.exam_taker.id)
            if current is None:
                new.append(ExamScore(exam=exam, exam_taker=row.exam_taker, score=row.score))
            elif current.score == row.score:
                applied.unchanged += 1
            else:
                current.score = row.score
                current.save(update_fields=["score", "updated_at"])
                applied.updated += 1
        ExamScore.objects.bulk_create(new)
        applied.created = len(new)
    return applied


def template_csv(exam: Exam) -> str:
    """The course's active exam-takers with their current scores: a file to fill in and upload."""
    scores = dict(ExamScore.objects.filter(exam=exam).values_list("exam_taker_id", "score"))
    out = io.StringIO()
    writer = csvfile.writer(out)
    writer.writerow([STUDENT_ID_COLUMN, "Name", SCORE_COLUMN])
    enrollments = (
        Enrollment.objects.filter(course=exam.course, status=EnrollmentStatus.ACTIVE)
        .select_related("exam_taker")
        .order_by("exam_taker__student_id")
    )
    seen: set[int] = set()
    for e in enrollments:
        if e.exam_taker_id in seen:
            continue
        seen.add(e.exam_taker_id)
        score = scores.get(e.exam_taker_id)
        writer.writerow([e.exam_taker.student_id, e.exam_taker.full_name, _text(score) if score is not None else ""])
    return out.getvalue()
