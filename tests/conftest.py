"""Named personas (an admin of institution A, an admin of B, support), and the browser harness."""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from lms_canvas import connect, gates
from lms_canvas.models import CanvasConnection, ConnectionStatus
from lms_canvas.simulator.generator import DEMO_KEY_ID, DEMO_SECRET
from portal.models import Department, Institution, InstitutionAdmin

# Debian's chromium-headless-shell first: the same Chromium build as /usr/bin/chromium (one Debian
# source package) without the desktop browser around Blink, and what Playwright itself runs for headless
# tests. Measured on this 2-core machine: a page load costs 121 ms of browser CPU against 230 ms in the
# full browser run headless, and the browser tests are mostly that CPU. CHROMIUM_PATH picks another.
CHROMIUMS = ("/usr/bin/chromium-headless-shell", "/usr/bin/chromium")
CHROMIUM = os.environ.get("CHROMIUM_PATH") or next((c for c in CHROMIUMS if os.path.exists(c)), CHROMIUMS[-1])
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple"

pytest_plugins = ["tests.fixtures_simulator"]


def chromium_available() -> bool:
    return os.path.exists(CHROMIUM) or shutil.which(CHROMIUM) is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if chromium_available():
        return
    skip = pytest.mark.skip(reason=f"Chromium not found at {CHROMIUM}")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)
    config._e2e_skipped = True  # type: ignore[attr-defined]


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if getattr(config, "_e2e_skipped", False):
        terminalreporter.write_line(
            f"Browser tests skipped: no Chromium at {CHROMIUM}. Install it with "
            "`sudo apt-get install -y chromium-headless-shell` (CI's .ci/run does) and run `make test` again."
        )


@pytest.fixture(scope="session", autouse=True)
def _flush_by_delete() -> Iterator[None]:
    """Transactional tests (a live server, real workers) empty the database after each test with Django's
    flush, which on PostgreSQL is one TRUNCATE of every table: each of ~45 tables and their indexes gets new
    files, synced to disk at commit, 0.3-0.9 s a test and most of PostgreSQL's CPU in the suite. Deleting
    each table's few rows empties it in ~10 ms. Django makes every foreign key DEFERRABLE INITIALLY DEFERRED
    (tests/portal/test_test_harness.py checks it), so the order of the deletes inside flush's transaction
    does not matter. Sequences are not reset either way (TransactionTestCase's default)."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade:
            return truncate(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        return [f"DELETE FROM {self.quote_name(table)};" for table in tables]  # noqa: S608 (Django's own table names)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield


_AFTER_MIGRATE: dict[str, dict[str, tuple[bool, int, str]]] = {}


def pytest_configure(config: pytest.Config) -> None:
    # xdist's controller: one id for this run that every worker sees (workerinput["testrunuid"]), so the
    # workers can agree on which of them migrates the template database (see _clone_worker_database).
    if not hasattr(config, "workerinput") and getattr(config.option, "testrunuid", "unset") is None:
        config.option.testrunuid = uuid.uuid4().hex


def _template_worker(config: pytest.Config) -> str | None:
    """This xdist worker's id when its database is a clone of one migrated template: on PostgreSQL, with
    migrations, and a fresh database (not --reuse-db)."""
    from django.db import connection

    worker = getattr(config, "workerinput", {}).get("workerid")
    if not worker or connection.vendor != "postgresql":
        return None
    if config.getoption("reuse_db", False) or config.getoption("nomigrations", False):
        return None
    return worker


def _template_paths(config: pytest.Config, template: str) -> tuple[Path, Path]:
    run = config.workerinput["testrunuid"] if hasattr(config, "workerinput") else config.option.testrunuid
    base = Path(tempfile.gettempdir()) / f"{template}-{run}"
    return base.with_suffix(".lock"), base.with_suffix(".ready")


def _clone_worker_database(config: pytest.Config, worker: str) -> None:
    """The first worker migrates the template database (test_<name>, as pytest-django would name it
    without xdist); each worker then takes a copy of it (CREATE DATABASE ... TEMPLATE, Django's own clone
    for its parallel runner). Migrating once instead of once per worker saves each further worker ~3 s of
    CPU and the PostgreSQL work of 21 migrations; the copy takes a fraction of a second."""
    from django.conf import settings
    from django.db import connection

    db = settings.DATABASES["default"]
    template = db["TEST"]["NAME"].removesuffix(f"_{worker}")  # pytest-django added the worker's suffix
    lock_path, ready = _template_paths(config, template)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one migrate, and one copy at a time (a template has no users)
        if not ready.exists():
            db["TEST"]["NAME"] = template
            connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
            connection.close()
            ready.touch()
        else:
            db["NAME"] = template
        connection.creation.clone_test_db(suffix=worker, verbosity=0, autoclobber=True)
        # In place, so the live server's threads and the worker processes the tests start open the copy.
        connection.creation.setup_worker_connection(worker)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """xdist's controller drops the template the workers copied, once they have all ended."""
    config = session.config
    if hasattr(config, "workerinput") or not getattr(config.option, "testrunuid", None):
        return
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        return
    template = db.get("TEST", {}).get("NAME") or f"test_{db['NAME']}"
    lock_path, ready = _template_paths(config, template)
    if ready.exists():
        import psycopg
        from psycopg import sql

        params = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"]}
        with psycopg.connect(dbname="postgres", password=db["PASSWORD"] or None, autocommit=True, **params) as pg:
            pg.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(template)))
    ready.unlink(missing_ok=True)
    lock_path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def django_db_setup(
    request, django_test_environment, django_db_blocker, django_db_modify_db_settings
) -> Iterator[None]:
    """The test database: a copy of one migrated template per xdist worker on PostgreSQL, else made by
    migrate as pytest-django makes it. Then the database as migrate left it is read once: a transactional
    test's flush (a live server, real workers) empties every table, the rows data migrations made with them,
    so a test of "migrate makes beat's schedule" that ran after one in the same process found nothing."""
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases
    from django_celery_beat.models import PeriodicTask

    worker = _template_worker(request.config)
    verbosity = request.config.option.verbose
    keepdb = request.config.getoption("reuse_db", False) and not request.config.getoption("create_db", False)
    with django_db_blocker.unblock():
        if worker:
            _clone_worker_database(request.config, worker)
        else:
            if request.config.getoption("nomigrations", False):
                from pytest_django.fixtures import _disable_migrations

                _disable_migrations()
            db_cfg = setup_databases(verbosity=verbosity, interactive=False, keepdb=keepdb, serialized_aliases=set())
        _AFTER_MIGRATE["periodic_tasks"] = {
            t.task: (t.enabled, t.interval.every, t.interval.period)
            for t in PeriodicTask.objects.select_related("interval")
        }
    yield
    with django_db_blocker.unblock():
        try:
            if worker:
                connection.creation.destroy_test_db(verbosity=0)
            elif not keepdb:
                teardown_databases(db_cfg, verbosity=verbosity)
        except Exception as exc:  # noqa: BLE001 (pytest-django's own teardown warns the same way)
            request.node.warn(pytest.PytestWarning(f"Error when trying to teardown test databases: {exc!r}"))


@pytest.fixture
def beat_tasks_after_migrate(django_db_setup) -> dict[str, tuple[bool, int, str]]:
    """Beat's tasks in the database right after migrate: task -> (enabled, interval every, its period)."""
    return _AFTER_MIGRATE["periodic_tasks"]


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _cache_of_its_own(settings) -> None:
    """A key prefix of its own in the cache for each test: password-reset limits start from zero, and no
    other test reads its keys, whether it ran before in this process or runs now in another xdist worker
    on the same Redis (where clearing the cache would empty the other workers' keys too)."""
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": uuid.uuid4().hex}}


@pytest.fixture(autouse=True)
def _throttle_gates_of_its_own() -> Iterator[None]:
    """Each test starts with fresh throttle gates: a process keeps one per connection id, and ids come
    round again in every test on SQLite, so a gate one test throttled down would slow the next."""
    gates._gates.clear()
    yield
    gates._gates.clear()


def make_admin(institution: Institution, email: str):
    user = get_user_model().objects.create_user(username=email, email=email, password=PASSWORD)
    InstitutionAdmin.objects.create(user=user, institution=institution)
    return user


@pytest.fixture
def institution_a(db) -> Institution:
    inst = Institution.objects.create(name="Alpha University", slug="alpha", timezone="America/New_York")
    Department.objects.create(institution=inst, name="Law")
    return inst


@pytest.fixture
def institution_b(db) -> Institution:
    inst = Institution.objects.create(name="Beta College", slug="beta", timezone="Europe/London")
    Department.objects.create(institution=inst, name="Medicine")
    return inst


@pytest.fixture
def admin_a(institution_a):
    return make_admin(institution_a, "alice@alpha.test")


@pytest.fixture
def admin_b(institution_b):
    return make_admin(institution_b, "bob@beta.test")


@pytest.fixture
def support_user(db):
    return get_user_model().objects.create_user(
        username="sam@support.test", email="sam@support.test", password=PASSWORD, is_staff=True, is_superuser=True
    )


@pytest.fixture
def client_a(client, admin_a):
    client.force_login(admin_a)
    return client


@pytest.fixture
def client_b(client, admin_b):
    client.force_login(admin_b)
    return client


@pytest.fixture(scope="session")
def browser():
    if not chromium_available():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    # Playwright's sync API runs an event loop in this thread; Django's ORM in the same test is safe here.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


_LIVE_URL: dict = {}  # each test's page -> the address of its live server (for login's cookie)


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    p = context.new_page()
    _LIVE_URL[p] = live_server.url
    blocked: list[str] = []
    p.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    yield p
    del _LIVE_URL[p]
    context.close()
    assert blocked == [], f"the page broke its Content-Security-Policy: {blocked}"


def open_global_settings(page) -> None:
    """Admin > Global Settings, the guide's navigation path (on a phone, the Menu button first)."""
    from playwright.sync_api import expect

    # Decided by the width, not by whether the button shows yet: portal.js reveals it (and folds the
    # menu) once it runs, which under load can be just after the page is there.
    if (page.viewport_size or {}).get("width", 1280) < 768:
        menu = page.get_by_role("button", name="Menu")
        expect(menu).to_be_visible()
        if menu.get_attribute("aria-expanded") != "true":
            menu.click()
    page.locator("summary", has_text="Admin").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Global Settings").click()


def login(page, email: str, password: str | None = None) -> None:
    """Signed in as `email`, on the dashboard.

    With a password: through the login form, as a person does (the tests of logging in, wrong passwords,
    lockouts and password changes pass one). Without: by a session Django makes for that user, set as the
    browser's session cookie, which skips the form's two page loads in every other walk; the form itself is
    walked by tests/e2e/test_login.py."""
    if password is not None:
        page.goto("/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        return
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(email=email))
    cookie = settings.SESSION_COOKIE_NAME
    page.context.add_cookies([{"name": cookie, "value": client.cookies[cookie].value, "url": _LIVE_URL[page]}])
    page.goto("/")


def connect_to(institution: Institution, running_sim, scopes: list[str] | None = None) -> CanvasConnection:
    """A Verified connection of `institution` to a running simulator, through a real OAuth round trip,
    with the Configure mapping read from the simulator's roles (defaults: SIS IDs, Teacher+TA, Student).

    `scopes` narrows the demo developer key (and so the token) to those scopes; they must still allow
    reading the account and its roles."""
    if scopes is not None:
        running_sim.control(f"keys/{DEMO_KEY_ID}", {"scopes": scopes})
    token = running_sim.issue_token(scopes=scopes)
    CanvasConnection.objects.filter(institution=institution).delete()
    conn = CanvasConnection.objects.create(
        institution=institution,
        server_url=running_sim.url,
        client_id=str(DEMO_KEY_ID),
        client_secret=DEMO_SECRET,
        access_token=token["access_token"],
        refresh_token=token["refresh_token"],
        token_expires_at=timezone.now() + timezone.timedelta(seconds=token["expires_in"]),
        status=ConnectionStatus.VERIFIED,
        verified_at=timezone.now(),
        canvas_user_name=token["user"]["name"],
    )
    conn.root_account_id = connect.client_for(conn).get_account("self").id
    conn.save()
    connect.load_roles(conn)
    return conn


@pytest.fixture
def connected(institution_a, sim) -> CanvasConnection:
    """Institution A, Verified against the `sim` simulator (small_dataset), ready to refresh and sync."""
    return connect_to(institution_a, sim)
