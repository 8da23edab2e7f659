from __future__ import annotations

from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from lms_canvas.models import CanvasConnection


def _raw_secret(conn_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_secret FROM lms_canvas_canvasconnection WHERE id = %s", [conn_id])
        return cursor.fetchone()[0]


def test_rotation_re_encrypts_under_the_new_key_and_old_keys_can_go(institution_a, settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    conn = CanvasConnection.objects.create(
        institution=institution_a, client_secret="the-secret", access_token="tok-123", refresh_token="ref-456"
    )
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    out = call_command("rotate_encryption_keys")
    assert "1 connection" in out
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    conn = CanvasConnection.objects.get(id=conn.id)
    assert (conn.client_secret, conn.access_token, conn.refresh_token) == ("the-secret", "tok-123", "ref-456")
    assert Fernet(new_key.encode()).decrypt(_raw_secret(conn.id).encode()) == b"the-secret"


def test_empty_secrets_stay_empty(institution_a):
    conn = CanvasConnection.objects.create(institution=institution_a)
    assert _raw_secret(conn.id) == ""
