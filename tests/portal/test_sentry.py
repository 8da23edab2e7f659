"""Optional Sentry: off by default; when on, an event leaves with no secret in it. The SDK runs in a
subprocess with the real settings and a transport that captures envelopes instead of sending them."""

from __future__ import annotations

import json
import subprocess
import sys

from portal.sentry import FILTERED, redact, scrub_event
from tests.portal.test_settings import ROOT, _clean_environ, _settings_from

SECRET = "cs-4f1d0c9a7b2e6f3a8d5c"  # a Canvas client secret
TOKEN = "7~Xq9LmZ2vR8tK4wB6nY1pJ3"  # a Canvas access token
CODE = "oauthcode-e5a9c2f7d1b3"  # an OAuth authorization code
SECRET_KEY = "sk-django-9b8c7d6e5f4a3b2c1d0e-production"

FAILING_CALLBACK = """
import json, logging, sys
import django
django.setup()
import sentry_sdk
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.test.utils import override_settings
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from sentry_sdk.transport import Transport
from werkzeug.test import Client

SECRET, TOKEN, CODE = sys.argv[1:4]
events = []


class Capture(Transport):
    def capture_envelope(self, envelope):
        events.extend(item.payload.json for item in envelope.items if item.type == "event")


sdk = sentry_sdk.get_client()
sdk.transport = Capture(sdk.options)


@csrf_exempt
def oauth_callback(request):
    client_secret = SECRET
    access_token = refresh_token = TOKEN
    code = request.GET["code"]
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    url = f"https://canvas.example.edu/login/oauth2/token?code={CODE}&client_secret={SECRET}"
    note = f"Bearer {TOKEN}"
    signing = settings.SECRET_KEY
    key_ring = list(settings.FIELD_ENCRYPTION_KEYS)
    logging.getLogger("lms_canvas.oauth").warning("exchanging the code at %s", url)
    raise RuntimeError(f"Canvas refused Bearer {TOKEN}: client_secret={SECRET}")


urlpatterns = [path("oauth/callback", oauth_callback)]

# Through the WSGI application gunicorn calls, where the SDK reads the request's URL and headers.
with override_settings(ROOT_URLCONF="__main__"):
    r = Client(get_wsgi_application()).post(
        f"https://localhost/oauth/callback?code={CODE}&state=s1",
        data={"client_secret": SECRET, "access_token": TOKEN},
        headers={"Authorization": f"Bearer {TOKEN}", "Cookie": f"sessionid={TOKEN}", "X-Request-Id": "r-17", "X-Forwarded-Proto": "https"},
    )
sentry_sdk.flush()
print(json.dumps({"status": r.status_code, "integrations": sorted(sdk.integrations), "events": events}))
"""


def run_failing_callback() -> dict:
    env = {
        **_clean_environ(),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "SENTRY_DSN": "https://public@sentry.invalid/1",
        "SECRET_KEY": SECRET_KEY,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "localhost",
    }
    r = subprocess.run(
        [sys.executable, "-c", FAILING_CALLBACK, SECRET, TOKEN, CODE],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_sentry_is_off_by_default():
    assert _settings_from({}, "s.SENTRY_DSN == '', __import__('sentry_sdk').get_client().is_active()") == "True False"


def test_an_event_from_a_failing_view_carries_no_secret():
    out = run_failing_callback()
    assert out["status"] == 500
    assert {"django", "celery"} <= set(out["integrations"])
    (event,) = [e for e in out["events"] if e.get("exception")]
    text = json.dumps(out["events"])
    for secret in (SECRET, TOKEN, CODE, SECRET_KEY, "ZGV2LW9ubHktZmllbGQta2V5LWRvLW5vdC11c2UtMTI="):
        assert secret not in text, f"{secret} reached Sentry"
    # ...and the event is still worth reading: what failed, where, with the harmless locals.
    (exc,) = event["exception"]["values"]
    assert exc["type"] == "RuntimeError"
    assert exc["value"] == f"Canvas refused Bearer {FILTERED}: client_secret={FILTERED}"
    frame = exc["stacktrace"]["frames"][-1]
    assert frame["function"] == "oauth_callback"
    assert frame["vars"]["client_secret"] == FILTERED and frame["vars"]["code"] == FILTERED
    assert frame["vars"]["headers"]["Accept"] == "'application/json'"  # locals are sent as reprs
    request = event["request"]
    assert not request.get("data"), "request bodies are never sent"
    assert request["url"].endswith("://localhost/oauth/callback")
    assert request["query_string"] == f"code={FILTERED}&state=s1"
    assert request["headers"]["X-Request-Id"] == "r-17"
    assert request["headers"].get("Authorization", FILTERED) == FILTERED
    assert request["headers"].get("Cookie", FILTERED) == FILTERED


def test_frames_of_secret_holding_modules_lose_their_locals():
    event = {
        "exception": {
            "values": [
                {
                    "stacktrace": {
                        "frames": [
                            {"module": "sync.engine.runner", "vars": {"course_id": "501"}},
                            {"module": "lms_canvas.fields", "vars": {"value": SECRET}},
                            {"module": "requests_oauthlib.oauth2_session", "vars": {"body": TOKEN}},
                        ]
                    }
                }
            ]
        }
    }
    frames = scrub_event(event)["exception"]["values"][0]["stacktrace"]["frames"]
    assert [f["vars"] for f in frames] == [{"course_id": "501"}, {}, {}]


def test_it_redacts_what_looks_like_a_secret_and_leaves_the_rest():
    assert redact(f"Authorization: Bearer {TOKEN}") == f"Authorization: Bearer {FILTERED}"
    assert redact(f'{{"access_token": "{TOKEN}", "token_type": "Bearer"}}') == (
        f'{{"access_token": "{FILTERED}", "token_type": "Bearer"}}'
    )
    assert redact(f"grant_type=authorization_code&code={CODE}&client_secret={SECRET}") == (
        f"grant_type=authorization_code&code={FILTERED}&client_secret={FILTERED}"
    )
    assert redact("postgres://portal:hunter2@db:5432/portal") == f"postgres://portal:{FILTERED}@db:5432/portal"
    assert redact(f"signed with {SECRET_KEY}", [SECRET_KEY]) == f"signed with {FILTERED}"
    plain = "Canvas answered 503 for course 501 at https://canvas.example.edu/api/v1/courses/501"
    assert redact(plain) == plain
