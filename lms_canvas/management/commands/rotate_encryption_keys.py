from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from lms_canvas.fields import EncryptedTextField
from lms_canvas.models import CanvasConnection


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret under the first key of FIELD_ENCRYPTION_KEYS. "
        "Put the new key first, keep the old ones after it, run this, then drop the old keys."
    )

    def handle(self, *args: object, **options: object) -> str:
        names = [f.name for f in CanvasConnection._meta.fields if isinstance(f, EncryptedTextField)]
        rotated = 0
        with transaction.atomic():
            # Loading decrypts with whichever key of the ring fits; saving encrypts with the first.
            for conn in CanvasConnection.objects.select_for_update():
                conn.save(update_fields=names)
                rotated += 1
        return f"Re-encrypted the secrets of {rotated} connection(s)."
