from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portal.models import Department, Institution, InstitutionAdmin

DEMO_PASSWORD = "demo"  # noqa: S105 - the README publishes it; the command refuses to run outside DEBUG
DEMO_ADMIN = "admin@demo.test"
DEMO_SUPPORT = "support@demo.test"
DEMO_DEPARTMENTS = ["School of Law", "School of Medicine", "School of Nursing", "Undergraduate Studies"]


class Command(BaseCommand):
    help = "Create (or bring back to its known state) the demo institution and its two logins."

    def handle(self, *args: object, **options: object) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo creates a published password; it runs only with DEBUG on.")
        with transaction.atomic():
            institution = seed_demo()
        url = settings.SITE_URL
        self.stdout.write(
            f"\nDemo institution: {institution.name}\n"
            f"  Portal:        {url}/\n"
            f"  Institution admin: {DEMO_ADMIN} / {DEMO_PASSWORD}\n"
            f"  Support (Django admin at {url}/support/): {DEMO_SUPPORT} / {DEMO_PASSWORD}\n"
        )


def seed_demo() -> Institution:
    institution, _ = Institution.objects.update_or_create(
        slug="demo",
        defaults={"name": "Demo University", "timezone": "America/New_York", "nightly_sync_hour": 2},
    )
    for name in DEMO_DEPARTMENTS:
        Department.objects.get_or_create(institution=institution, name=name)
    admin = _user(DEMO_ADMIN, first_name="Ada", last_name="Admin", is_staff=False)
    InstitutionAdmin.objects.update_or_create(user=admin, defaults={"institution": institution})
    _user(DEMO_SUPPORT, first_name="Sam", last_name="Support", is_staff=True, is_superuser=True)
    return institution


def _user(email: str, **fields: object):
    user, _ = get_user_model().objects.update_or_create(username=email, defaults={"email": email, **fields})
    user.set_password(DEMO_PASSWORD)
    user.save()
    return user
