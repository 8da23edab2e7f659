"""Refresh Courses (the catalogue of what Canvas has), its search, and its writes; the Select Courses tab."""
