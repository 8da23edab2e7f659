"""Every sync batch notes on the connection's status card what it saw of Canvas (visibility.note): the
card's lines must stay right, and a batch that sees what the card already says must not lock the
connection row nor decrypt its secrets to find that out (h14: 4% of a small run's worker CPU)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lms_canvas import fields, visibility
from lms_canvas.models import CanvasConnection

pytestmark = pytest.mark.django_db


@pytest.fixture
def decrypts(monkeypatch) -> list[str]:
    seen: list[str] = []
    real = fields.decrypt

    def counting(ciphertext: str) -> str:
        seen.append(ciphertext)
        return real(ciphertext)

    monkeypatch.setattr(fields, "decrypt", counting)
    return seen


def test_a_new_finding_is_written_and_the_others_kept(connected):
    visibility.note(connected.institution_id, visibility.INCLUDES, visibility.includes_capability(False))
    visibility.note(connected.institution_id, visibility.SIS, visibility.sis_capability(False))

    conn = CanvasConnection.objects.get(id=connected.id)
    assert not conn.capabilities[visibility.INCLUDES]["ok"]
    assert conn.capabilities[visibility.SIS]["sis_hidden"]
    assert conn.access_token == connected.access_token  # the secrets are untouched


def test_what_the_card_already_says_is_read_once_without_a_lock_or_a_decrypt(connected, decrypts):
    same = visibility.includes_capability(True)
    visibility.note(connected.institution_id, visibility.INCLUDES, same)
    updated_at = CanvasConnection.objects.get(id=connected.id).updated_at
    decrypts.clear()

    with CaptureQueriesContext(connection) as queries:
        visibility.note(connected.institution_id, visibility.INCLUDES, same)

    assert [q["sql"].split()[0] for q in queries] == ["SELECT"]
    assert "FOR UPDATE" not in queries[0]["sql"]
    assert decrypts == []
    assert CanvasConnection.objects.get(id=connected.id).updated_at == updated_at
