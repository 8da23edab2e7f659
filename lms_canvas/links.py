"""Links to Canvas's own pages, for the admin to open (not API calls: those are in client.py)."""

from __future__ import annotations


def course_page(server_url: str, course_id: int | str) -> str:
    # Canvas: the course's home page, <server>/courses/:id
    return f"{server_url.rstrip('/')}/courses/{course_id}" if server_url else ""


def section_page(server_url: str, course_id: int | str, section_id: int | str) -> str:
    # Canvas: the section's page, <server>/courses/:course_id/sections/:id
    return f"{course_page(server_url, course_id)}/sections/{section_id}" if server_url else ""


def course_user_page(server_url: str, course_id: int | str, user_id: int | str) -> str:
    # Canvas: a person's page in a course, <server>/courses/:course_id/users/:id
    return f"{course_page(server_url, course_id)}/users/{user_id}" if server_url else ""
