"""Instant sync: Canvas Live Events (Admin > Data Services) keep synced courses current within a minute.

An event is verified (keys.py), bound to its institution by the root account's uuid and kept once
(receive.py, the webhook's work, answered at once); a worker then marks its course for a refetch by
the engine's own per-course sync, coalesced over a short quiet window (coalesce.py), or updates the
catalogue for a course not on the sync list (catalog.py). Events can be lost, duplicated or out of
order: the refetch reads Canvas as it is now, and the nightly sync reconciles what was missed.
"""
