from __future__ import annotations

from django.urls import reverse

from tests.conftest import PASSWORD


def test_pages_carry_the_security_headers(client_a):
    r = client_a.get(reverse("dashboard"))
    csp = r["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert r["X-Frame-Options"] == "DENY"
    assert r["Referrer-Policy"] == "same-origin"
    assert r["X-Content-Type-Options"] == "nosniff"


def test_production_cookies_are_secure_and_https_is_enforced():
    from tests.portal.test_settings import PRODUCTION_ENV, _settings_from

    out = _settings_from(
        PRODUCTION_ENV,
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
        "s.CANVAS_ALLOW_PRIVATE_URLS, s.SESSION_COOKIE_HTTPONLY",
    )
    assert out == "True True True 31536000 False True"


def test_no_template_has_an_inline_script_or_handler():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.html")
        if inline_script.search(p.read_text()) or handler.search(p.read_text())
    ]
    assert offenders == []


def test_the_login_form_is_csrf_protected(admin_a):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    r = strict.post(reverse("login"), {"username": "alice@alpha.test", "password": PASSWORD})
    assert r.status_code == 403
