"""/metrics: django-prometheus series, aggregated over gunicorn workers when needed.

Also exports, computed at scrape time by this process:
- `django_app_ready` (1 when /ready/ would answer 200, else 0): the readiness alert and
  dashboards use it, since Prometheus cannot read /ready/'s JSON;
- `django_app_release_info{release="..."}` = 1: which release each instance serves.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.http import HttpResponse
from django_prometheus.exports import ExportToDjangoView
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from sampleapp import probes


class AppStateCollector:
    """Readiness and release, evaluated on every scrape (never cached between scrapes)."""

    def collect(self):
        is_ready, _reason, _details = probes.check_readiness()
        ready = GaugeMetricFamily(
            "django_app_ready",
            "1 when /ready/ would answer 200 (database reachable, migrations applied), else 0",
        )
        ready.add_metric([], 1.0 if is_ready else 0.0)
        yield ready
        release = GaugeMetricFamily(
            "django_app_release_info", "Release id served by this instance", labels=["release"]
        )
        release.add_metric([settings.APP_RELEASE], 1.0)
        yield release


_app_state_registry = CollectorRegistry(auto_describe=False)
_app_state_registry.register(AppStateCollector())


def metrics(request):
    """Prometheus exposition. Access control is nginx's job (monitoring network only).

    With PROMETHEUS_MULTIPROC_DIR set (gunicorn with several workers) every worker writes
    its samples there and this view sums them; otherwise django-prometheus' own view.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = ExportToDjangoView(request).content
    body += generate_latest(_app_state_registry)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
