"""The smoke's first half: the operator's first support login, support's institution, and its admin's
Canvas connection and sync list, all through the portal's and Canvas's own pages."""

from __future__ import annotations

import argparse
import datetime as dt
import email
import email.policy
import re
import secrets
import zoneinfo
from email.message import EmailMessage
from pathlib import Path

import requests
from smoke_report import SmokeError, Step, poll, say
from smoke_stack import Stack
from smoke_web import Browser, Page

SUPPORT = "support@smoke.test"
ADMIN = "admin@smoke.test"
DEPARTMENTS = ["School of Law", "Undergraduate Studies"]
HTMX = {"HX-Request": "true"}


class Setup:
    def __init__(self, args: argparse.Namespace, stack: Stack) -> None:
        self.args = args
        self.stack = stack
        self.port, self.portal, self.sim = stack.port, stack.portal, stack.sim
        self.support_password = secrets.token_urlsafe(18)
        self.admin_password = secrets.token_urlsafe(18)
        self.tz = pick_timezone()

    # -- the operator and support -------------------------------------------------------------------

    def production_settings(self) -> None:
        with Step("production settings: check --deploy, http -> https redirect, HSTS, Secure cookies, hashed static"):
            self.stack.manage("check-deploy", "check", "--deploy", "--fail-level", "WARNING")
            r = requests.get(f"http://127.0.0.1:{self.port}/login/", allow_redirects=False, timeout=10)
            if r.status_code != 301 or not r.headers.get("Location", "").startswith("https://"):
                raise SmokeError(f"plain http /login/ answered {r.status_code} {r.headers.get('Location')}, not https")
            self.support = Browser("support", self.portal)
            page = self.support.get(self.portal + "/support/login/")
            if "max-age" not in page.response.headers.get("Strict-Transport-Security", ""):
                raise SmokeError("no Strict-Transport-Security header on https")
            cookie = page.response.headers.get("Set-Cookie", "")
            if "csrftoken" not in cookie or "Secure" not in cookie:
                raise SmokeError(f"the login page sets no Secure csrftoken cookie: {cookie}")
            login = self.support.get(self.portal + "/login/")
            css = login.between(r'<link rel="stylesheet" href="(/static/css/portal\.[0-9a-f]{12}\.css)"')
            r = self.support.session.get(self.portal + css, timeout=10)
            if r.status_code != 200 or "immutable" not in r.headers.get("Cache-Control", ""):
                raise SmokeError(f"{css} answered {r.status_code} {r.headers.get('Cache-Control')}")
            say(f"    {css}: {r.status_code}, {r.headers.get('Cache-Control')}")

    def first_support_login(self) -> None:
        with Step("operator: manage.py createsuperuser --noinput (the first support login)"):
            self.stack.manage(
                "createsuperuser",
                "createsuperuser",
                "--noinput",
                env={
                    "DJANGO_SUPERUSER_USERNAME": SUPPORT,
                    "DJANGO_SUPERUSER_EMAIL": SUPPORT,
                    "DJANGO_SUPERUSER_PASSWORD": self.support_password,
                },
            )
        with Step("support: log in to Django admin at /support/ (a wrong password first)"):
            page = self.support.get(self.portal + "/support/login/?next=/support/")
            form = page.form(has="username").set("username", SUPPORT).set("password", "not-" + self.support_password)
            self.support.submit(page, form).expect("Please enter the correct username and password")
            page = self.support.get(self.portal + "/support/login/?next=/support/")
            page = self.support.submit(
                page, page.form(has="username").set("username", SUPPORT).set("password", self.support_password)
            )
            page.expect("LMS Sync Portal support", "Institutions", "Users")
            session = [c for c in self.support.session.cookies if c.name == "sessionid"]
            if len(session) != 1 or not session[0].secure or not session[0].has_nonstandard_attr("HttpOnly"):
                raise SmokeError("no Secure, HttpOnly sessionid cookie after logging in")

    def create_institution(self) -> None:
        s, admin = self.support, self.portal + "/support/"
        hour = 23  # later today in the chosen time zone: no nightly sync is due before step 4 sets it
        with Step(f"support: Institutions › Add: Smoke University ({self.tz}, nightly at {hour}:00)"):
            page = s.get(admin + "portal/institution/add/")
            form = page.form(has="name").set("name", "Smoke University").set("slug", "smoke")
            form.set("timezone", self.tz).set("nightly_sync_hour", str(hour))
            page = s.submit(page, form, "Save")
            page.expect("was added successfully")
            page = s.get(admin + "portal/institution/?q=smoke")
            self.institution_url = page.link("Smoke University")
            self.institution_id = re.search(r"/institution/(\d+)/", self.institution_url).group(1)

        with Step(f"support: the institution's page › Invite an admin: {ADMIN}, Ada Admin (support types no password)"):
            page = s.get(s.get(self.institution_url).link("Invite an admin"))
            form = page.form(has="email").set("email", ADMIN).set("first_name", "Ada").set("last_name", "Admin")
            if any(name.startswith("password") for name, _ in form.fields):
                raise SmokeError(f"the invitation form asks support for a password: {form.fields}")
            web_log = self.stack.web.log
            mark = web_log.stat().st_size
            page = s.submit(page, form, "Send invitation")
            page.expect(f"Invitation sent to {ADMIN}", "not set yet (invited)")
            mail = poll("the invitation email in web's output", lambda: console_email(web_log, mark, ADMIN), 15, 0.2)
            if "Smoke University" not in mail["Subject"] or "Smoke University" not in email_text(mail):
                raise SmokeError(f"the invitation does not name the institution: {mail['Subject']!r}")
            self.invitation_link = email_link(mail, self.portal + "/welcome/")
            say(f"    {mail['Subject']!r} to {mail['To']}: a link {self.portal}/welcome/<uid>/<token>/")

        with Step(f"support: Departments › Add: {', '.join(DEPARTMENTS)}"):
            for name in DEPARTMENTS:
                page = s.get(admin + "portal/department/add/")
                form = page.form(has="name").set("institution", self.institution_id).set("name", name)
                s.submit(page, form, "Save").expect("was added successfully")

    def admin_connects(self) -> None:
        self.admin = Browser("admin", self.portal)
        a = self.admin
        with Step("admin: the invitation's link › Set your password; the link then no longer works"):
            page = a.get(self.invitation_link).expect("Set your password", ADMIN)
            form = page.form(has="new_password1")
            form.set("new_password1", self.admin_password).set("new_password2", self.admin_password)
            a.submit(page, form, "Set password").expect("Your password is set")
            a.get(self.invitation_link).expect("This link no longer works")
            if "not set yet" in self.support.get(self.institution_url).expect(ADMIN).text:
                raise SmokeError("after the admin set a password, the institution's page still says it is not set")

        with Step("admin: first login with that password, Global Settings › LMS Settings"):
            page = a.get(self.portal + "/")
            page = a.submit(page, page.form(has="username").set("username", ADMIN).set("password", self.admin_password))
            page.expect("Smoke University")
            page = a.get(page.link("Global Settings"))
            page = a.get(page.link("LMS Settings")).expect("LMS Settings", "Not configured")
            redirect_uri = page.between(r'data-testid="redirect-uri">([^<]+)<')
            if redirect_uri != self.portal + "/lms/canvas/callback/":
                raise SmokeError(f"LMS Settings names the redirect URI {redirect_uri}, not SITE_URL's callback")
            scopes = page.between(r'<textarea id="required-scopes"[^>]*>(.*?)</textarea>').split()
            say(f"    redirect URI {redirect_uri}; {len(scopes)} scopes to enable")

        client_id, secret = self.canvas_developer_key(redirect_uri, scopes)

        with Step(f"admin: LMS Settings: Canvas Dev Key, {self.sim}, client id {client_id}, Save"):
            form = page.form(id="lms-settings-form").set("lms_type", "dev_key").set("server_url", self.sim)
            form.set("client_id", client_id).set("client_secret", secret)
            page = a.submit(page, form, "Save").expect("Canvas accepts this developer key", "Not verified")
            if secret in page.html:
                raise SmokeError("the client secret is shown back on LMS Settings")

        with Step("admin: Generate Key -> Canvas login -> Authorize -> back on LMS Settings: Verified"):
            page = a.submit(page, page.form(action="/admin-settings/lms/generate-key/"))
            if not page.url.startswith(self.sim + "/login/canvas"):
                raise SmokeError(f"Generate Key did not lead to Canvas's login page: {page.url} {page.text[:500]}")
            page = a.submit(
                page, page.form(has="unique_id").set("unique_id", "canvas-admin").set("password", "canvas-admin")
            )
            page.expect("is requesting access to your account")
            page = a.submit(page, page.form(action="/login/oauth2/accept"), "Authorize")
            if not page.url.startswith(self.portal + "/admin-settings/lms/"):
                raise SmokeError(f"Authorize did not come back to the portal: {page.url}")
            status = page.between(r'data-testid="connection-status">([^<]+)<')
            if status != "Verified":
                raise SmokeError(f"after the OAuth round trip the connection is {status!r}: {page.text[:1500]}")
            page.expect("Verified: the portal can read Canvas")
            say("    " + page.between(r"(Verified [^<]*as Canvas user [^<]*)"))

        with Step("admin: Configure: ID types and roles as offered, Save"):
            page = a.get(page.link("Configure"))
            form = page.form(has="course_id_type")
            say(
                f"    course ID {form.value('course_id_type')}, section ID {form.value('section_id_type')}, "
                f"student ID {form.value('student_id_type')}, roles {form.values('course_admin_role_ids')} / "
                f"{form.values('student_role_ids')}"
            )
            a.submit(page, form, "Save").expect("Configuration saved.")

    def canvas_developer_key(self, redirect_uri: str, scopes: list[str]) -> tuple[str, str]:
        """The guide's Canvas half, in the simulator's own pages, by the Canvas admin in another browser."""
        with Step("Canvas admin: Developer Keys › + API Key with the portal's redirect URI and scopes, State ON"):
            c = Browser("canvas-admin", self.portal)
            page = c.get(self.sim + "/")
            page = c.submit(
                page, page.form(has="unique_id").set("unique_id", "canvas-admin").set("password", "canvas-admin")
            )
            page = c.get(page.link("Admin"))
            page = c.get(page.link(root_account_name(page)))
            page = c.get(page.link("Developer Keys"))
            before = set(re.findall(r'data-key-id="(\d+)"', page.html))
            page = c.get(page.link("+ API Key"))
            form = page.form(has="redirect_uris").set("name", "Exam portal").set("redirect_uris", redirect_uri)
            form.set("require_scopes", "1").set("allow_includes", "1").set("scopes", *scopes)
            page = c.submit(page, form, "Save")
            new = set(re.findall(r'data-key-id="(\d+)"', page.html)) - before
            if len(new) != 1:
                raise SmokeError(f"saving the key did not add one row to Developer Keys: {page.text[:800]}")
            key_id = new.pop()
            page = c.submit(page, page.form(action=f"/developer_keys/{key_id}/state"), "ON")
            row = page.between(rf'(<tr data-key-id="{key_id}">.*?</tr>)')
            if 'value="on" aria-pressed="true"' not in row:
                raise SmokeError(f"the key's State is not ON: {row}")
            secret = page.between(rf'<div id="secret-{key_id}" class="secret" hidden>([^<]+)</div>')
            return page.between(rf'<tr data-key-id="{key_id}">.*?<div class="client-id">(\d+)</div>'), secret

    # -- Refresh Courses and the sync list -----------------------------------------------------------

    def refresh_and_choose(self) -> None:
        a = self.admin
        with Step("admin: Edit Sync Settings › Refresh Courses, until the progress fragment says it finished"):
            page = a.get(self.portal + "/admin-settings/lms/")
            page = a.get(page.link("Edit Sync Settings"))
            page = a.submit(page, page.form(action="/admin-settings/lms/sync/refresh/"))
            url = self.portal + "/admin-settings/lms/sync/refresh/progress/"
            fragment = poll("Refresh Courses finished", lambda: done_fragment(a.get(url, headers=HTMX)), 120)
            result = fragment.between(r'data-testid="refresh-result">(.*?)</p>')
            say(f"    {' '.join(re.sub('<[^>]+>', ' ', result).split())}")
            if "Succeeded" not in result and "Finished with issues" not in result:
                raise SmokeError(f"Refresh Courses did not succeed: {result}")

        want = self.args.sync_courses
        with Step(f"admin: Select Courses › + on {want} courses"):
            added, page_no = 0, 1
            while added < want:
                page = a.get(self.portal + f"/admin-settings/lms/sync/?page={page_no}")
                forms = [f for f in page.forms if re.search(r"/sync/courses/\d+/add/$", f.action)]
                if not forms:
                    raise SmokeError(f"only {added} courses could be added (page {page_no} has no + left)")
                for form in forms[: want - added]:
                    a.submit(page, form, headers=HTMX).expect("Added")
                    added += 1
                page_no += 1

        today = dt.date.today()
        start, end = today - dt.timedelta(days=30), today + dt.timedelta(days=120)
        with Step(f"admin: Edit Sync List › check all › dates {start}..{end}, then Department {DEPARTMENTS[0]}"):
            page = a.get(self.portal + "/admin-settings/lms/sync/?tab=list")
            form = page.form(id="sync-list-form")
            rows = form.options["selected"]
            if len(rows) != want:
                raise SmokeError(f"the sync list shows {len(rows)} rows, not the {want} added")
            form.set("selected", *rows).set("bulk_start", start.isoformat()).set("bulk_end", end.isoformat())
            page = a.submit(page, form, "Set dates").expect("Saved.")
            form = page.form(id="sync-list-form").set("selected", *rows)
            form.set("bulk_department", option_for(page, "bulk_department", DEPARTMENTS[0]))
            page = a.submit(page, form, "Set department").expect(f"Saved. {want} entries changed.")
            self.listed = want


def pick_timezone() -> str:
    """A time zone whose local hour is 1..21 now, so 23:00 is safely later today and "this hour" stays today."""
    for name in ("America/New_York", "Asia/Tokyo"):
        if 1 <= dt.datetime.now(zoneinfo.ZoneInfo(name)).hour <= 21:
            return name
    return "UTC"


def root_account_name(admin: Page) -> str:
    """The first account Canvas's Admin page lists: the root account, whose Developer Keys the guide uses."""
    for label, href in admin.links:
        if href.startswith("/accounts/"):
            return label
    raise SmokeError(f"{admin.url} lists no account")


def option_for(page: Page, select: str, label: str) -> str:
    found = re.search(
        rf'<select name="{select}"[^>]*>.*?<option value="(\d+)">{re.escape(label)}</option>', page.html, re.S
    )
    if not found:
        raise SmokeError(f"{page.url}: {select} has no option {label!r}")
    return found.group(1)


def console_email(log: Path, offset: int, to: str) -> EmailMessage | None:
    """The last email to `to` that Django's console backend (EMAIL_URL consolemail://) wrote to the log
    after `offset`: each is the message as sent (MIME headers, maybe quoted-printable), then 79 dashes."""
    with log.open("rb") as handle:
        handle.seek(offset)
        text = handle.read().decode("utf-8", errors="replace")
    found = None
    for chunk in re.findall(r"^(Content-Type: .*?)\n-{79}$", text, re.M | re.S):
        mail = email.message_from_string(chunk, policy=email.policy.default)
        if to in mail.get("To", ""):
            found = mail
    return found


def email_text(mail: EmailMessage) -> str:
    """The plain-text body, decoded (quoted-printable or base64, charset)."""
    body = mail.get_body(("plain",))
    return body.get_content() if body is not None else ""


def email_link(mail: EmailMessage, prefix: str) -> str:
    """The link in the email's decoded text that starts with `prefix` (whole, however the email wrapped it)."""
    text = email_text(mail)
    found = re.search(re.escape(prefix) + r"[^\s<>\"]+", text)
    if not found:
        raise SmokeError(f"the email {mail['Subject']!r} has no link starting {prefix}: {text[:1500]}")
    return found.group(0)


def done_fragment(fragment: Page) -> Page | None:
    return fragment if 'data-testid="refresh-result"' in fragment.html else None
