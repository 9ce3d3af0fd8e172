"""/metrics: django-prometheus series, aggregated over gunicorn workers when needed."""

from __future__ import annotations

import os

from django.http import HttpResponse
from django_prometheus.exports import ExportToDjangoView
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector


def metrics(request):
    """Prometheus exposition. Access control is nginx's job (monitoring network only).

    With PROMETHEUS_MULTIPROC_DIR set (gunicorn with several workers) every worker writes
    its samples there and this view sums them; otherwise django-prometheus' own view.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
    return ExportToDjangoView(request)
