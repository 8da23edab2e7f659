from __future__ import annotations

import secrets
import time
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from oauthlib.oauth2 import OAuth2Error

from lms_canvas import connect, oauth, settings_service
from lms_canvas.errors import CanvasError
from lms_canvas.forms import ConfigureForm, LmsSettingsForm
from lms_canvas.models import CanvasConfig, CanvasConnection, LmsType
from lms_canvas.scopes import REQUIRED_SCOPES, SCOPE_GROUPS
from portal.access import get_institution_for

STATE_KEY = "canvas_oauth"
STATE_TTL_S = 600


def _connection(request: HttpRequest) -> CanvasConnection:
    institution = get_institution_for(request)
    conn, _ = CanvasConnection.objects.get_or_create(institution=institution)
    return conn


def _report(request: HttpRequest, findings: list[oauth.Finding]) -> None:
    _show(request, settings_service.finding_notices(findings))


@login_required
def lms_settings(request: HttpRequest) -> HttpResponse:
    conn = _connection(request)
    form_kwargs: dict[str, Any] = {
        "has_secret": conn.has_secret,
        "has_token": conn.lms_type == LmsType.ACCESS_TOKEN and conn.has_token,
        "saved_server_url": conn.server_url,
    }
    if request.method == "POST":
        form = LmsSettingsForm(request.POST, **form_kwargs)
        if form.is_valid():
            notices = settings_service.save_settings(conn, form.cleaned_data, request.user)
            _show(request, notices)
            if not any(n.not_saved for n in notices):
                return redirect("lms-settings")
            _ask_secrets_again(form)
    else:
        form = LmsSettingsForm(
            initial={"lms_type": conn.lms_type, "server_url": conn.server_url, "client_id": conn.client_id},
            **form_kwargs,
        )
    ctx = {
        "conn": conn,
        "form": form,
        "scope_groups": SCOPE_GROUPS,
        "scopes_text": "\n".join(REQUIRED_SCOPES),
        "redirect_uri": oauth.redirect_uri(),
    }
    return render(request, "lms_canvas/lms_settings.html", ctx)


def _ask_secrets_again(form: LmsSettingsForm) -> None:
    """A refused Save shows the form as typed, but a secret is never rendered back: say so beside it."""
    for field in ("client_secret", "access_token"):
        if form.cleaned_data.get(field, "").strip():
            form.add_error(field, NOT_SAVED_SECRET[field])


NOT_SAVED_SECRET = {
    "client_secret": "Not saved, so the Client Secret you typed was not kept: type it again before you Save.",
    "access_token": "Not saved, so the access token you pasted was not kept: paste it again before you Save.",
}


def _show(request: HttpRequest, notices: list[settings_service.Notice]) -> None:
    for notice in notices:
        getattr(messages, notice.level)(request, notice.text)


def _after_verify(request: HttpRequest, conn: CanvasConnection, findings: list[oauth.Finding]) -> None:
    _show(request, settings_service.verify_notices(conn, findings))


@login_required
@require_POST
def generate_key(request: HttpRequest) -> HttpResponse:
    conn = _connection(request)
    if conn.lms_type != LmsType.DEV_KEY or not (conn.server_url and conn.client_id and conn.has_secret):
        messages.error(request, "Enter and Save the Canvas Server, Client ID and Client Secret first.")
        return redirect("lms-settings")
    findings = oauth.preflight(conn)
    if findings:
        if conn.is_verified and conn.has_token:
            _report(request, findings)
            messages.info(request, KEPT_CONNECTION)
        else:
            conn.status_reason = settings_service.findings_reason(findings)
            conn.save(update_fields=["status_reason", "updated_at"])
            _show(request, settings_service.refused_notices(findings))
        return redirect("lms-settings")
    state = secrets.token_urlsafe(32)
    request.session[STATE_KEY] = {"state": state, "institution": conn.institution_id, "at": time.time()}
    return redirect(oauth.authorization_url(conn, state))


@login_required
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    conn = _connection(request)
    saved = request.session.pop(STATE_KEY, None)
    state = request.GET.get("state", "")
    if not saved or not state or not secrets.compare_digest(saved["state"], state):
        messages.error(
            request,
            "This Canvas answer does not belong to a Generate Key started here (or it was already used), "
            "so it was ignored. What to do: choose Generate Key again.",
        )
        return redirect("lms-settings")
    if saved["institution"] != conn.institution_id or time.time() - saved["at"] > STATE_TTL_S:
        messages.error(
            request, "The Canvas authorization took too long and expired. What to do: choose Generate Key again."
        )
        return redirect("lms-settings")
    if error := request.GET.get("error"):
        _fail(request, conn, oauth.finding_for_oauth_error(error, request.GET.get("error_description", "")))
        return redirect("lms-settings")
    try:
        token = oauth.exchange_code(conn, request.GET.get("code", ""))
    except OAuth2Error as exc:
        _fail(request, conn, oauth.finding_for_oauth_error(exc.error, exc.description or ""))
        return redirect("lms-settings")
    except CanvasError as exc:
        _fail(request, conn, oauth.Finding(exc.message, exc.fix))
        return redirect("lms-settings")
    if conn.is_verified and conn.has_token and (problem := connect.new_token_problem(conn, token["access_token"])):
        # Not kept, so not left live at Canvas either: its refresh token would otherwise work for as long as
        # the developer key does, held by no one.
        oauth.revoke(conn, token["access_token"])
        _report(request, [problem])
        messages.info(request, KEPT_CONNECTION)
        return redirect("lms-settings")
    oauth.store_tokens(conn, token)
    conn.save()
    _after_verify(request, conn, connect.verify(conn, request.user))
    return redirect("lms-settings")


KEPT_CONNECTION = settings_service.KEPT_CONNECTION


def _fail(request: HttpRequest, conn: CanvasConnection, finding: oauth.Finding) -> None:
    """Say why Canvas did not authorize. A working connection is never touched by an authorization that
    did not happen (only a successful exchange replaces its tokens); any other one is left Not verified
    with the cause, so it never looks Verified when it is not (the FAQ's false positive)."""
    _report(request, [finding])
    if conn.is_verified and conn.has_token:
        messages.info(request, KEPT_CONNECTION)
        return
    conn.reset(finding.message)
    conn.save()


@login_required
@require_POST
def reverify(request: HttpRequest) -> HttpResponse:
    conn = _connection(request)
    if not conn.has_token:
        messages.error(request, "There is no token to check yet. What to do: choose Generate Key.")
        return redirect("lms-settings")
    _after_verify(request, conn, connect.verify(conn, request.user))
    return redirect("lms-settings")


@login_required
@require_POST
def disconnect(request: HttpRequest) -> HttpResponse:
    """Asks first: one click beside Check connection and Configure would otherwise revoke a working
    connection at Canvas, stopping every sync until someone authorizes the portal again."""
    conn = _connection(request)
    if request.POST.get("confirmed") != "1":
        return render(request, "lms_canvas/disconnect_confirm.html", {"conn": conn})
    if connect.disconnect(conn):
        messages.success(
            request, "Disconnected. Canvas revoked the portal's token; your mapping and sync list are kept."
        )
    else:
        messages.warning(
            request,
            "Disconnected here, but Canvas could not be reached to revoke the token; it expires within an hour. "
            "Your mapping and sync list are kept.",
        )
    return redirect("lms-settings")


@login_required
def configure(request: HttpRequest) -> HttpResponse:
    conn = _connection(request)
    config, _ = CanvasConfig.objects.get_or_create(institution=conn.institution)
    form = None
    if conn.is_verified:
        if request.method == "POST" and "reload_roles" in request.POST:
            try:
                connect.load_roles(conn)
                messages.success(request, "Roles reloaded from Canvas.")
            except CanvasError as exc:
                messages.error(request, f"{exc.message} What to do: {exc.fix}")
            return redirect("canvas-configure")
        if request.method == "POST":
            form = ConfigureForm(request.POST, config=config)
            if form.is_valid():
                for field, value in form.cleaned_data.items():
                    setattr(config, field, value)
                config.saved_at = timezone.now()
                config.save()
                messages.success(request, "Configuration saved.")
                return redirect("canvas-configure")
        else:
            form = ConfigureForm(
                config=config,
                initial={
                    "course_id_type": config.course_id_type,
                    "section_id_type": config.section_id_type,
                    "student_id_type": config.student_id_type,
                    "course_admin_role_ids": config.course_admin_role_ids,
                    "student_role_ids": config.student_role_ids,
                },
            )
    ctx = {"conn": conn, "config": config, "form": form}
    return render(request, "lms_canvas/configure.html", ctx)
