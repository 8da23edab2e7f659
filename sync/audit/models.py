"""The audit trail: django-auditlog's log entry, with the institution it concerns and the area it is
about, so an admin's trail is one indexed query and support can filter every institution's."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from dataclasses import dataclass, field

from auditlog.models import AbstractLogEntry, LogEntryManager
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone

from portal.dates import date_text, datetime_text
from portal.models import Institution
from sync.audit.areas import Area, area_of, institution_id_of

VERBS = {
    AbstractLogEntry.Action.CREATE: "Added",
    AbstractLogEntry.Action.UPDATE: "Changed",
    AbstractLogEntry.Action.DELETE: "Removed",
}
NONE = "—"


@dataclass
class Change:
    label: str
    before: str
    after: str


@dataclass
class Row:
    """An entry as a person reads it: on the trail page and in its CSV."""

    when: dt.datetime
    who: str
    area: str
    action: str
    object: str
    run_id: int | None = None
    changes: list[Change] = field(default_factory=list)


class AuditEntryManager(LogEntryManager):
    def log_create(self, instance, force_log: bool = False, **kwargs):
        """The library's, plus the institution and area of what changed (see audit.areas)."""
        kwargs.setdefault("institution_id", institution_id_of(instance))
        kwargs.setdefault("area", area_of(instance))
        return super().log_create(instance, force_log=force_log, **kwargs)


class AuditEntry(AbstractLogEntry):
    # No database constraint: an institution's trail outlives the institution, as an audit trail must.
    # Annotated: django-auditlog is untyped, so the plugin cannot infer fields on its subclasses.
    institution: models.ForeignKey[Institution | None, Institution | None] = models.ForeignKey(
        Institution, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True, related_name="+"
    )
    area: models.CharField[str, str] = models.CharField(max_length=20, choices=Area.choices, blank=True)

    objects = AuditEntryManager()

    class Meta(AbstractLogEntry.Meta):
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["institution", "-timestamp"], name="audit_trail"),
            models.Index(fields=["institution", "area", "-timestamp"], name="audit_trail_area"),
        ]

    def describe(self, tz: zoneinfo.ZoneInfo, roles: dict[int, str] | None = None) -> Row:
        """`roles` names the Canvas role ids that Configure's role fields hold."""
        extra = self.additional_data or {}
        who = self.actor_email or (self.actor.get_username() if self.actor else "") or "System"
        if self.actor is not None and self.actor.is_staff:
            who += " (support)"
        return Row(
            when=timezone.localtime(self.timestamp, tz),
            who=who,
            area=self.get_area_display() if self.area else self.content_type.name,
            action=extra.get("event") or VERBS.get(self.action, "Recorded"),
            object=self.object_repr,
            run_id=extra.get("run_id"),
            changes=[
                change
                for name, values in sorted(self.changes_dict.items(), key=lambda item: self._field_order(item[0]))
                if (change := self._change(name, values, roles or {})).after != NONE or change.before
            ],
        )

    def _field_order(self, name: str) -> int:
        """Changes read in the order of the model's fields (auditlog records them in no order)."""
        model = self.content_type.model_class()
        names = [f.name for f in model._meta.fields] if model else []
        return names.index(name) if name in names else len(names)

    def _change(self, name: str, values: list, roles: dict[int, str]) -> Change:
        model = self.content_type.model_class()
        try:
            model_field = model._meta.get_field(name) if model else None
        except FieldDoesNotExist:
            model_field = None
        label = str(model_field.verbose_name) if model_field else name
        before, after = (_display(model_field, v, roles) for v in values)
        if self.action == self.Action.CREATE:
            before = ""
        elif self.action == self.Action.DELETE:
            before, after = "", before
        return Change(label=label[:1].upper() + label[1:], before=before, after=after)


def _display(model_field, value, roles: dict[int, str]) -> str:
    """A recorded value in words: dates as the pages write them, choices by label, role ids by role name,
    nothing as a dash."""
    if value is None or value in ("", "None", "[]"):
        return "" if value is None else NONE
    text = str(value)
    if isinstance(model_field, models.DateTimeField):
        try:
            return datetime_text(dt.datetime.fromisoformat(text))
        except ValueError:
            return text
    if isinstance(model_field, models.DateField):  # in the pages' one format, as every other date
        try:
            return date_text(dt.date.fromisoformat(text))
        except ValueError:
            return text
    if model_field is not None and model_field.choices:
        return str(dict(model_field.choices).get(text, text))
    if isinstance(model_field, models.JSONField) and model_field.name.endswith("role_ids"):
        try:
            ids = json.loads(text)
        except ValueError:
            return text
        if isinstance(ids, list):
            return ", ".join(roles.get(i, f"role {i}") for i in ids)
    return text
