"""What the audit trail records, in one place: which models and fields, and which never.

Changes to these models are recorded by django-auditlog's signals whoever makes them (a portal page,
Django admin, a command); the actor comes from `sync.audit.middleware`. A secret never reaches an entry:
the client secret is recorded only as "set" or not (`hide`), and the tokens, which also change on
every refresh, are not tracked at all. Events that are not a model's save (a run someone started, a
held course approved) are recorded with `record`.
"""

from __future__ import annotations

from auditlog.registry import auditlog
from django.apps import apps
from django.db import models

from sync.audit.areas import TRACKED, institution_id_of
from sync.audit.models import AuditEntry

HIDDEN = "(set, not shown)"


def hide(value: str) -> str:
    """auditlog's mask callable: whether a secret is set, never any part of it (its own keeps half)."""
    return "" if value in ("", "None") else HIDDEN


def register_all() -> None:
    for label, (_, fields, masked) in TRACKED.items():
        auditlog.register(
            apps.get_model(label),
            include_fields=list(fields),
            mask_fields=list(masked),
            mask_callable="sync.audit.tracking.hide",
        )


def record(
    instance: models.Model,
    *,
    area: str,
    changes: dict[str, list],
    institution_id: int | None = None,
    actor=None,
    action: int = AuditEntry.Action.UPDATE,
    **fields,
) -> AuditEntry:
    """An event that is not a tracked save: `changes` maps a label to [before, after] (before may be
    None); `fields` sets other entry fields (object_repr, additional_data: {"event", "run_id"})."""
    return AuditEntry.objects.log_create(
        instance,
        force_log=True,
        action=action,
        changes=changes,
        area=area,
        actor=actor,
        actor_email=getattr(actor, "email", None),
        institution_id=institution_id if institution_id is not None else institution_id_of(instance),
        **fields,
    )
