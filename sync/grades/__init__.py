"""Grades: exams and their scores (CSV upload, the template), and posting them to Canvas (grade passback)."""
