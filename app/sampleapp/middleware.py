"""Release header, JSON access log, and the probes (/health/, /ready/) answered early."""

from __future__ import annotations

import logging
import time
from typing import ClassVar

from django.conf import settings

from sampleapp import probes

access_log = logging.getLogger("sampleapp.access")

# Paths polled by machines (ALB, Prometheus): their access lines go out at DEBUG only.
QUIET_PATHS = frozenset({"/health/", "/ready/", "/metrics"})


class ReleaseHeaderMiddleware:
    """Every response says which release answered: `X-App-Release: <APP_RELEASE>`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response["X-App-Release"] = settings.APP_RELEASE
        return response


class AccessLogMiddleware:
    """One JSON line per request with path, method, status and duration."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        response = self.get_response(request)
        level = logging.DEBUG if request.path in QUIET_PATHS else logging.INFO
        if access_log.isEnabledFor(level):
            access_log.log(
                level,
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "path": request.path,
                    "method": request.method,
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 2),
                    "release": settings.APP_RELEASE,
                },
            )
        return response


class ProbeMiddleware:
    """Answer /health/ and /ready/ before host validation, HTTPS redirect and sessions.

    Load balancers address instances by IP over plain HTTP; the probes must answer them
    whatever ALLOWED_HOSTS and DJANGO_SECURE_SSL_REDIRECT say.
    """

    PROBES: ClassVar[dict] = {"/health/": probes.health, "/ready/": probes.ready}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = self.PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)
