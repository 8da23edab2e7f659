"""The sync list: the courses and sections chosen for sync, Edit Sync List, and its CSV export and import."""
