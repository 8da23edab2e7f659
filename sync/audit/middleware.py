from __future__ import annotations

from auditlog.middleware import AuditlogMiddleware

from portal.clientip import client_ip


class AuditActorMiddleware(AuditlogMiddleware):
    """auditlog's middleware (the signed-in user becomes the actor of what a request changes), with the
    client's address found as login lockouts find it: the library's own trusts any X-Forwarded-For."""

    @staticmethod
    def _get_remote_addr(request):
        return client_ip(request)

    @staticmethod
    def _get_remote_port(request) -> None:
        return None
