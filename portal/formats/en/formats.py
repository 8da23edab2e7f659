"""The portal's one way to write a date and a time ("Dec 1, 2026", "Dec 1, 2026, 2:05 p.m."), over
Django's English formats: Django uses these for {{ value }} and |date in pages, emails and Django admin.
"2:00 a.m." as the schedule's hours read; a time never ends a sentence (it would end in "a.m..")."""

DATE_FORMAT = "M j, Y"
DATETIME_FORMAT = "M j, Y, g:i a"
TIME_FORMAT = "g:i a"
SHORT_DATE_FORMAT = "M j, Y"
SHORT_DATETIME_FORMAT = "M j, Y, g:i a"
