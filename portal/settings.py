"""One settings file, read from the environment; every default runs locally with no server."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")
VAR_DIR.mkdir(exist_ok=True)

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-" + "x" * 40)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "axes",
    "portal",
    "lms_canvas",
    "sync",
    "auditlog",
    "sync.audit",
    "sync.live",
]

MIDDLEWARE = [
    # /healthz and /readyz, answered before host validation and the HTTPS redirect (docker probes localhost).
    "portal.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.timezones.InstitutionTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
    # The signed-in user becomes the actor of the audit trail's entries for what the request changes.
    "sync.audit.middleware.AuditActorMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.institution",
            ],
        },
    },
]

# SQLite in WAL mode lets the web app and a worker write side by side; the timeout makes a
# writer wait for the other instead of failing with "database is locked".
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not shared-cache memory, so tests see the same locking as the web app beside a worker.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-portal-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

# Redis, where given, shares the cache (and so the Canvas throttle budget) across processes. Without it,
# files under var/: the cache is still one for the web app and the workers, since pages are cached until
# the version a worker's sync bumps changes (sync.runs.open_counts); a per-process cache would have shown
# the web app's copy of Open problems for ten minutes after every sync.
REDIS_URL = env.str("REDIS_URL", default="")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(VAR_DIR / "cache")}
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Brute-force protection: after 5 wrong passwords for one account from one address, wait 15 minutes.
# Only that account from that address is locked, so nobody elsewhere can lock a named admin out;
# that needs the client's real address, which behind a reverse proxy comes from its header.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "portal.clientip.client_ip"
# How many reverse proxies (nginx, a load balancer) stand in front of the portal and append the
# client's address to TRUSTED_PROXY_HEADER. 0: none, the header is ignored (a client could forge it).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
TRUSTED_PROXY_HEADER = "HTTP_" + env.str("TRUSTED_PROXY_HEADER", default="X-Forwarded-For").upper().replace("-", "_")
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "portal/locked_out.html"
AXES_VERBOSE = False

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Password reset and invitation links (Django's token) work once, for this many seconds (3 days).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3 * 24 * 3600)
# Reset requests per hour from one client address, and emails per hour to one address (Django's cache,
# so per process without REDIS_URL). Past the second limit the page answers the same and sends nothing.
PASSWORD_RESET_LIMIT_PER_IP = env.int("PASSWORD_RESET_LIMIT_PER_IP", default=10)
PASSWORD_RESET_LIMIT_PER_EMAIL = env.int("PASSWORD_RESET_LIMIT_PER_EMAIL", default=3)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# One way to write dates and times everywhere (portal/formats/en/formats.py), over Django's English ones.
FORMAT_MODULE_PATH = ["portal.formats"]

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="LMS Sync Portal <noreply@localhost>")

# A key ring: the first key encrypts, every key decrypts, so keys rotate without downtime.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=["ZGV2LW9ubHktZmllbGQta2V5LWRvLW5vdC11c2UtMTI="])

# The Canvas server URL may point at private or loopback addresses only where this says so
# (the local simulator); production Canvas is always a public https host.
CANVAS_ALLOW_PRIVATE_URLS = env.bool("CANVAS_ALLOW_PRIVATE_URLS", default=DEBUG)
if CANVAS_ALLOW_PRIVATE_URLS:
    # The local simulator speaks plain http; oauthlib refuses that unless told it is deliberate.
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
CANVAS_SIMULATOR_URL = env.str("CANVAS_SIMULATOR_URL", default="http://127.0.0.1:8001")

# Instant sync (sync/live): Canvas's Live Events key set and issuer (CANVAS_API.md §9; the demo points
# the key set at the simulator's /_sim/jwks), how long a course's burst of events must go quiet before
# its refetch, and how long a steady trickle may hold one back at most.
LIVE_EVENTS_JWKS_URL = env.str(
    "LIVE_EVENTS_JWKS_URL", default="https://8axpcl50e4.execute-api.us-east-1.amazonaws.com/main/jwks"
)
LIVE_EVENTS_ISSUER = env.str("LIVE_EVENTS_ISSUER", default="https://live-events.canvas.instructure.com")
LIVE_EVENTS_QUIET_SECONDS = env.float("LIVE_EVENTS_QUIET_SECONDS", default=5.0)
LIVE_EVENTS_MAX_WAIT_SECONDS = env.float("LIVE_EVENTS_MAX_WAIT_SECONDS", default=20.0)
# Every request to Canvas (API and OAuth, lms_canvas.http.canvas_timeout) waits this long to connect and
# at most this long for each read. Canvas's load balancers drop a request idle for 60 s, so a read
# timeout of 60 s or more would only ever end in a dropped connection instead of a retry.
CANVAS_CONNECT_TIMEOUT_S = env.float("CANVAS_CONNECT_TIMEOUT_S", default=5.0)
CANVAS_READ_TIMEOUT_S = env.float("CANVAS_READ_TIMEOUT_S", default=30.0)
CANVAS_IDLE_DROP_S = 60
if not 0 < CANVAS_READ_TIMEOUT_S < CANVAS_IDLE_DROP_S or not 0 < CANVAS_CONNECT_TIMEOUT_S < CANVAS_IDLE_DROP_S:
    raise ImproperlyConfigured(
        f"CANVAS_READ_TIMEOUT_S and CANVAS_CONNECT_TIMEOUT_S must be more than 0 and less than {CANVAS_IDLE_DROP_S} "
        "seconds: Canvas's load balancers drop a request idle for 60 seconds."
    )

# The audit trail (django-auditlog; what is tracked, and what never, is in sync/audit/tracking.py). A masked
# field is recorded only as set or not; related objects are recorded by name, as they were then.
AUDITLOG_LOGENTRY_MODEL = "audit.AuditEntry"
AUDITLOG_MASK_CALLABLE = "sync.audit.tracking.hide"
AUDITLOG_USE_FK_STRING_REPRESENTATION = True
AUDITLOG_DISABLE_ON_RAW_SAVE = True
# auditlog's own migrations would still create its unused log entry table, whose foreign key to the
# users then makes flush (and every live-server test) fail on PostgreSQL (django-auditlog issue 804).
MIGRATION_MODULES = {"auditlog": None}

# Celery: the default broker is kombu's filesystem transport under var/, so the demo needs no server.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "broker"
    _queue_dir.mkdir(exist_ok=True)
    (VAR_DIR / "broker-control").mkdir(exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "control_folder": str(VAR_DIR / "broker-control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# Where each Canvas token's throttle budget is shared by every worker process and machine
# (lms_canvas.gates): REDIS_URL, else the broker when it is Redis. Empty: each process keeps its own
# budget, which is right for the embedded default's one worker.
THROTTLE_REDIS_URL = env.str(
    "THROTTLE_REDIS_URL",
    default=REDIS_URL or (CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else ""),
)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=3000)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=3600)
CELERY_TASK_IGNORE_RESULT = True
# django-celery-beat's database scheduler, which also installs the portal's periodic tasks when beat
# starts (they are created by a migration too) and records beat's ticks for /readyz.
CELERY_BEAT_SCHEDULER = "sync.beat:Scheduler"
# Retention (sync.runs.retention, a beat task): runs and their course results older than this many days
# are removed (their monthly totals kept), and problems resolved longer ago than the second setting.
SYNC_RUN_RETENTION_DAYS = env.int("SYNC_RUN_RETENTION_DAYS", default=365)
SYNC_RESOLVED_PROBLEM_RETENTION_DAYS = env.int("SYNC_RESOLVED_PROBLEM_RETENTION_DAYS", default=90)
# The reaper (a beat task) fails a running run whose heartbeat is this old: its worker died. Every
# worker beats at least every few seconds while it works, whatever Canvas's pace.
RUN_HEARTBEAT_TIMEOUT_SECONDS = env.int("RUN_HEARTBEAT_TIMEOUT_SECONDS", default=180)
# ...and a queued run, or a sync's course, that no worker picked up for this long: the queue lost it.
RUN_START_TIMEOUT_SECONDS = env.int("RUN_START_TIMEOUT_SECONDS", default=900)
# A sync goes to the workers in batches of this many courses (sync.engine.dispatch), each read from
# Canvas concurrently; a run keeps at most SYNC_BATCHES_IN_FLIGHT batches queued or running (below a
# worker's --concurrency), and a run with few batches left goes first, so a large institution's sync
# never holds back the small ones (2 a.m. is everyone's nightly sync).
SYNC_BATCH_COURSES = env.int("SYNC_BATCH_COURSES", default=50)
SYNC_BATCHES_IN_FLIGHT = env.int("SYNC_BATCHES_IN_FLIGHT", default=2)
CELERY_TIMEZONE = "UTC"
# Workers log through LOGGING below (JSON when LOG_FORMAT=json), not through a root handler of Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# /readyz fails when beat's last recorded tick is older than this (beat records one every ~15 s).
BEAT_STALE_SECONDS = env.int("BEAT_STALE_SECONDS", default=120)

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Scripts only from our own static files: no inline script or handler can run, whatever a page echoes.
# Styles allow inline because htmx injects its indicator style. No form-action: Generate Key's form
# redirects to the institution's Canvas, whose address we do not know here.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Edit Sync List's Save posts every listed entry's row (its id, dates and department: 4 fields), so
# Django's default of 1,000 fields answered a bare "Bad Request (400)" to a list of more than ~245
# entries, before any view could say why. Sized for 10,000 entries; the request body limit
# (DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB: ~25,000 such rows) is left as it is.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 50_000

# "plain" (default) or "json": one JSON object per line (python-json-logger). Either way a line logged
# while a run is worked on carries its run_id and institution (portal.logcontext).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT is {LOG_FORMAT!r}; it must be plain or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "log_context": {"()": "portal.logcontext.LogContextFilter", "text": LOG_FORMAT == "plain"},
        # Django's own warnings name the address ("Not Found: ..."), which can hold a secret.
        "redact": {"()": "portal.log_redaction.RedactFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s%(context)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": True,
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["log_context", "redact"]}
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Both log whole token responses at DEBUG; tokens must never reach a log.
        "requests_oauthlib": {"level": "WARNING"},
        "oauthlib": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # Django's own handlers (runserver's request lines, DEBUG's console) write addresses unredacted:
        # replaced by the root's console handler and its RedactFilter.
        "django": {"handlers": [], "propagate": True},
        "django.server": {"handlers": [], "propagate": True},
    },
}

# Optional error reporting: off unless SENTRY_DSN is set. Events leave with our secrets scrubbed and no
# request bodies (portal/sentry.py).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from portal.sentry import init_sentry

    init_sentry(
        SENTRY_DSN,
        known_secrets=[
            SECRET_KEY,
            *FIELD_ENCRYPTION_KEYS,
            DATABASES["default"].get("PASSWORD") or "",
            EMAIL_CONFIG.get("EMAIL_HOST_PASSWORD") or "",
        ],
    )
