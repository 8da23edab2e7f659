from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from lms_canvas.fields import EncryptedTextField, rotate
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
            # Raw ciphertext, so nothing is decrypted into memory longer than MultiFernet.rotate needs.
            for row in CanvasConnection.objects.select_for_update().values("id", *names):
                updates = {n: rotate(row[n]) for n in names if row[n]}
                if updates:
                    CanvasConnection.objects.filter(id=row["id"]).update(**_raw(updates))
                    rotated += 1
        return f"Re-encrypted the secrets of {rotated} connection(s)."


def _raw(updates: dict[str, str]) -> dict:
    from django.db.models import Value
    from django.db.models.fields import TextField

    # Value(..., output_field=TextField()) stores the ciphertext as is instead of encrypting it again.
    return {name: Value(text, output_field=TextField()) for name, text in updates.items()}
