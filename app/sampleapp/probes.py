"""Liveness (/health/, no dependencies) and readiness (/ready/, database + migrations)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

log = logging.getLogger("sampleapp.probes")


@never_cache
def health(request):
    """The process is up and Django answers. Touches no database on purpose."""
    return JsonResponse({"status": "ok", "release": settings.APP_RELEASE})


def _unavailable(reason: str, **details) -> JsonResponse:
    body = {"status": "unavailable", "reason": reason, "release": settings.APP_RELEASE, **details}
    return JsonResponse(body, status=503)


def check_readiness() -> tuple[bool, str, dict]:
    """(ready, reason, details): the database answers SELECT 1 and no migration is pending.

    Shared by /ready/ and the `django_app_ready` gauge on /metrics, so both agree.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        # Details go to the log, not to whoever can reach the probe.
        log.warning("readiness: database unavailable: %s", exc.__class__.__name__, exc_info=True)
        connection.close_if_unusable_or_obsolete()
        return False, "database unavailable", {}
    if plan:
        pending = [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]
        return False, f"{len(pending)} unapplied migration(s)", {"pending_migrations": pending}
    return True, "", {}


@never_cache
def ready(request):
    """Ready to serve: the database answers SELECT 1 and every migration is applied."""
    is_ready, reason, details = check_readiness()
    if not is_ready:
        return _unavailable(reason, **details)
    return JsonResponse(
        {
            "status": "ready",
            "release": settings.APP_RELEASE,
            "database": "ok",
            "migrations": "applied",
        }
    )
