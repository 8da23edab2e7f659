"""gunicorn's access log (portal.log_redaction.AccessLogger, compose's --logger-class) keeps the request's
method, path and status, and never the OAuth authorization code or the webhook address's secret."""

from __future__ import annotations

import datetime as dt
import logging
from types import SimpleNamespace

from gunicorn.config import Config

from portal.log_redaction import AccessLogger, RedactFilter

CODE = "eb6b0b8f1a2c4d5e"
TOKEN = "Zq3kV9xY_w-4Jt7hLmN2pRsT8uVb1cDe"


def line(path: str, query: str = "", referer: str = "-") -> str:
    records: list[logging.LogRecord] = []
    cfg = Config()
    cfg.set("accesslog", "-")
    logger = AccessLogger(cfg)
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.access_log.handlers = [handler]
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": path + (f"?{query}" if query else ""),
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.7",
        "HTTP_REFERER": referer,
        "HTTP_USER_AGENT": "Mozilla/5.0",
    }
    resp = SimpleNamespace(status="200 OK", headers=[], sent=512)
    req = SimpleNamespace(headers=[("REFERER", referer)])
    logger.access(resp, req, environ, dt.timedelta(milliseconds=12))
    [record] = records
    return record.getMessage()


def test_the_oauth_callbacks_code_is_not_logged():
    text = line("/lms/canvas/callback/", f"code={CODE}&state=abc")
    assert CODE not in text
    assert '"GET /lms/canvas/callback/?code=[Filtered]&state=abc HTTP/1.1" 200 512' in text


def test_the_code_in_the_next_pages_referer_is_not_logged():
    text = line("/admin-settings/lms/", referer=f"https://portal.example/lms/canvas/callback/?code={CODE}")
    assert CODE not in text and "/lms/canvas/callback/?code=[Filtered]" in text


def test_the_webhook_addresss_secret_is_not_logged():
    text = line(f"/live-events/canvas/{TOKEN}/")
    assert TOKEN not in text and '"GET /live-events/canvas/[Filtered]/ HTTP/1.1" 200' in text


def test_an_ordinary_request_is_logged_as_it_came():
    text = line("/sync/history/", "kind=sync&page=2")
    assert "10.0.0.7 - - [" in text and '"GET /sync/history/?kind=sync&page=2 HTTP/1.1" 200 512' in text


def test_djangos_warning_for_a_wrong_webhook_request_does_not_log_the_secret(client):
    # Django's own "Method Not Allowed (GET): <path>" and "Not Found: <path>", as the console handler of
    # settings.LOGGING (the one every process logs to) passes them on.
    [console] = [h for h in logging.getLogger().handlers if any(isinstance(f, RedactFilter) for f in h.filters)]
    seen: list[str] = []
    spy = logging.Handler()
    spy.filters = list(console.filters)
    spy.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("django.request").addHandler(spy)
    try:
        client.get(f"/live-events/canvas/{TOKEN}/")
        client.get(f"/no/such/page/?code={CODE}")
    finally:
        logging.getLogger("django.request").removeHandler(spy)
    assert "Method Not Allowed (GET): /live-events/canvas/[Filtered]/" in seen
    assert any(m.startswith("Not Found: /no/such/page/") for m in seen)
    assert not [m for m in seen if TOKEN in m or CODE in m]


def test_the_json_format_writes_no_secret_either():
    import json

    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Not Found: %s", (f"/x?code={CODE}",), None
    )
    record.request = SimpleNamespace(path=f"/live-events/canvas/{TOKEN}/")  # as django.request passes it
    assert RedactFilter().filter(record)
    from pythonjsonlogger.json import JsonFormatter

    line = JsonFormatter("%(levelname)s %(name)s %(message)s").format(record)
    assert CODE not in line and TOKEN not in line and json.loads(line)["message"] == "Not Found: /x?code=[Filtered]"
