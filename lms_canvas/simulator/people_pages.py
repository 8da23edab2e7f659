"""Canvas's course People page, enough to change an enrollment by hand in the demo: the course's
enrollments with Deactivate / Reactivate / Remove, each a change of the simulator's data that sends
its Live Events like /_sim/mutate."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from .pages import _current_user, _login_redirect
from .web import csrf_field, csrf_ok, page, with_session

if TYPE_CHECKING:
    from .app import SimApp

ACTIONS = {"deactivate": "inactive", "reactivate": "active"}


def course_people(app: SimApp, request: Request, course_id: int) -> Response:
    sid, session, user = _current_user(app, request)
    if user is None:
        return _login_redirect(app, request, sid)
    course = app.store.get("courses", course_id)
    if course is None:
        raise NotFound()
    rows = []
    for enrollment in app.store.course_enrollments(course_id):
        person = app.store.user(enrollment["user_id"]) or {}
        state = enrollment.get("enrollment_state", "active")
        action = "reactivate" if state == "inactive" else "deactivate"
        buttons = "".join(
            f'<button type="submit" name="action" value="{name}">{label}</button>'
            for name, label in ((action, action.capitalize()), ("remove", "Remove from course"))
        )
        rows.append(
            f"<tr><td>{escape(person.get('name', ''))}</td><td>{escape(enrollment.get('type', ''))}</td>"
            f'<td>{escape(state)}</td><td><form method="post" '
            f'action="/courses/{course_id}/enrollments/{enrollment["id"]}">{csrf_field(session)}{buttons}</form></td></tr>'
        )
    body = (
        f"<h1>People: {escape(course.get('name', ''))}</h1>"
        "<table><thead><tr><th>Name</th><th>Role</th><th>State</th><th>Change</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    return with_session(page(f"People: {course.get('name', '')}", body, user=user), sid)


def change_enrollment(app: SimApp, request: Request, course_id: int, enrollment_id: int) -> Response:
    sid, session, user = _current_user(app, request)
    if user is None:
        return _login_redirect(app, request, sid)
    enrollment = app.store.enrollment(enrollment_id)
    if enrollment is None or enrollment["course_id"] != course_id:
        raise NotFound()
    action = request.form.get("action", "")
    if not csrf_ok(request, session) or action not in (*ACTIONS, "remove"):
        raise BadRequest()
    if action == "remove":
        app.live_events.mutate(app.store, {}, {"enrollments": [enrollment_id]})
    else:
        app.live_events.mutate(
            app.store, {"enrollments": [{"id": enrollment_id, "enrollment_state": ACTIONS[action]}]}, {}
        )
    return with_session(redirect(f"/courses/{course_id}/users"), sid)


ROUTES = (
    ("/courses/<int:course_id>/users", ("GET",), course_people),
    ("/courses/<int:course_id>/enrollments/<int:enrollment_id>", ("POST",), change_enrollment),
)
